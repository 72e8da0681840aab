"""Refuse UPDATE and DELETE of events, and DELETE of streams, inside the database itself."""

from django.db import migrations

SQLITE_FORWARD = [
    """CREATE TRIGGER events_event_refuse_update BEFORE UPDATE ON events_event
       BEGIN SELECT RAISE(ABORT, 'selfplay: events are append-only: UPDATE refused'); END""",
    """CREATE TRIGGER events_event_refuse_delete BEFORE DELETE ON events_event
       BEGIN SELECT RAISE(ABORT, 'selfplay: events are append-only: DELETE refused'); END""",
    """CREATE TRIGGER events_stream_refuse_delete BEFORE DELETE ON events_stream
       BEGIN SELECT RAISE(ABORT, 'selfplay: streams are append-only: DELETE refused'); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS events_event_refuse_update",
    "DROP TRIGGER IF EXISTS events_event_refuse_delete",
    "DROP TRIGGER IF EXISTS events_stream_refuse_delete",
]
POSTGRES_FORWARD = [
    """CREATE OR REPLACE FUNCTION selfplay_refuse_change() RETURNS trigger AS $$
       BEGIN
         RAISE EXCEPTION 'selfplay: % is append-only: % refused', TG_TABLE_NAME, TG_OP
           USING ERRCODE = 'restrict_violation';
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER events_event_refuse_change BEFORE UPDATE OR DELETE ON events_event
       FOR EACH ROW EXECUTE FUNCTION selfplay_refuse_change()""",
    """CREATE TRIGGER events_stream_refuse_delete BEFORE DELETE ON events_stream
       FOR EACH ROW EXECUTE FUNCTION selfplay_refuse_change()""",
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS events_event_refuse_change ON events_event",
    "DROP TRIGGER IF EXISTS events_stream_refuse_delete ON events_stream",
    "DROP FUNCTION IF EXISTS selfplay_refuse_change()",
]
SQL = {
    "sqlite": (SQLITE_FORWARD, SQLITE_BACKWARD),
    "postgresql": (POSTGRES_FORWARD, POSTGRES_BACKWARD),
}


def _run(statements_index: int):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor not in SQL:
            raise RuntimeError(f"selfplay supports SQLite and PostgreSQL, not {vendor}")
        for statement in SQL[vendor][statements_index]:
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial")]
    operations = [migrations.RunPython(_run(0), _run(1))]
