"""Drop the stream_id indexes of events and anchors: the unique (stream_id, position) index
serves every lookup by stream, and the extra one cost every append a write (and the log about
20 bytes an event). On PostgreSQL, drop the LIKE twins of the event id and type indexes too.

Only the indexes are dropped. AlterField alone would make SQLite rebuild the whole table, which
copies every event and loses the append-only triggers.
"""

import django.db.models.deletion
from django.db import migrations, models


def _index_names(schema_editor, table: str) -> list[str]:
    base = schema_editor._create_index_name(table, ["stream_id"], suffix="")
    return [base, schema_editor._create_index_name(table, ["stream_id"], suffix="_like")]  # PostgreSQL's


def drop_indexes(apps, schema_editor):
    names = [*_index_names(schema_editor, "events_event"), *_index_names(schema_editor, "events_anchor"),
             # PostgreSQL's pattern-matching (LIKE) twins of the event id and type indexes: the
             # store never matches either with LIKE.
             schema_editor._create_index_name("events_event", ["event_id"], suffix="_like"),
             schema_editor._create_index_name("events_event", ["type"], suffix="_like")]
    for name in names:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create_indexes(apps, schema_editor):
    for table in ("events_event", "events_anchor"):
        name = _index_names(schema_editor, table)[0]
        schema_editor.execute(f"CREATE INDEX {schema_editor.quote_name(name)} ON {table} (stream_id)")


class Migration(migrations.Migration):

    dependencies = [
        ("events", "0004_anchors_and_forward_only_heads"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="anchor",
                    name="stream",
                    field=models.ForeignKey(db_column="stream_id", db_index=False,
                                            on_delete=django.db.models.deletion.PROTECT,
                                            related_name="anchors", to="events.stream"),
                ),
                migrations.AlterField(
                    model_name="event",
                    name="stream",
                    field=models.ForeignKey(db_column="stream_id", db_index=False,
                                            on_delete=django.db.models.deletion.PROTECT,
                                            related_name="events", to="events.stream"),
                ),
            ],
        ),
    ]
