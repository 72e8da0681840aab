"""Events get `actor` and `tick` columns; SQLite's rows take the compact form; the type index
gives way to one index per tick marker.

- `actor` and `tick` copy metadata's (the admin filters and searches on them; on SQLite the
  metadata itself is no longer JSON that SQL can look into). Existing rows are filled in.
- SQLite: the table is rebuilt with blob columns, and every existing row copied into it in the
  compact form (events.compact): id and hashes as bytes, data and metadata compressed. The texts
  are kept exactly, so every hash still holds.
- The index of every event's type (a tenth of the log's size) is dropped: every query by type
  also names the stream, and looks for a tick marker, which now has a partial index of its own.

Only SQL of our own runs: Django's own rebuild would copy the rows unchanged and lose the
append-only triggers (the same reason as 0005).
"""

import sys

import orjson
from django.db import migrations, models
from django.db.models import Q

import events.models
from events.compact import pack_rows

OLD_TYPE_INDEX = "events_event_type_369b1d2e"
MARKER_INDEXES = {"world.tick.completed": "events_tick_completed", "world.ticks.skipped": "events_ticks_skipped"}
_BATCH = 20_000
_MIN_BIGINT, _MAX_BIGINT = -(2**63), 2**63 - 1


def _actor_and_tick(metadata_text: str) -> tuple[str, int | None]:
    metadata = orjson.loads(metadata_text)
    actor, tick = metadata.get("actor"), metadata.get("tick")
    return (actor if isinstance(actor, str) else "",
            tick if type(tick) is int and _MIN_BIGINT <= tick <= _MAX_BIGINT else None)


SQLITE_TABLE = """CREATE TABLE "new__events_event" (
    "global_position" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    "event_id" blob NOT NULL UNIQUE,
    "position" bigint unsigned NOT NULL CHECK ("position" >= 0),
    "type" varchar(100) NOT NULL,
    "data" blob NOT NULL,
    "metadata" blob NOT NULL,
    "recorded_at" datetime NOT NULL,
    "prev_hash" blob NOT NULL,
    "hash" blob NOT NULL,
    "stream_id" varchar(80) NOT NULL REFERENCES "events_stream" ("id") DEFERRABLE INITIALLY DEFERRED,
    "actor" varchar(160) NOT NULL,
    "tick" bigint NULL,
    CONSTRAINT "events_unique_stream_position" UNIQUE ("stream_id", "position"))"""
SQLITE_TRIGGERS = [
    """CREATE TRIGGER events_event_refuse_update BEFORE UPDATE ON events_event
       BEGIN SELECT RAISE(ABORT, 'selfplay: events are append-only: UPDATE refused'); END""",
    """CREATE TRIGGER events_event_refuse_delete BEFORE DELETE ON events_event
       BEGIN SELECT RAISE(ABORT, 'selfplay: events are append-only: DELETE refused'); END""",
]


def _rebuild_sqlite_table(cursor) -> None:
    """Copy every event into a table of the compact form's columns, then put it in the old one's
    place (as Django's own table rebuilds do, with the triggers made again)."""
    cursor.execute(SQLITE_TABLE)
    cursor.execute("SELECT COUNT(*) FROM events_event")
    total, done, after = cursor.fetchone()[0], 0, 0
    while True:
        cursor.execute("SELECT global_position, event_id, stream_id, position, type, data, metadata, "
                       "recorded_at, prev_hash, hash FROM events_event WHERE global_position > %s "
                       "ORDER BY global_position LIMIT %s", [after, _BATCH])
        rows = cursor.fetchall()
        if not rows:
            break
        cursor.executemany(
            'INSERT INTO "new__events_event" (global_position, event_id, stream_id, position, type, data, '
            "metadata, recorded_at, prev_hash, hash, actor, tick) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            pack_rows([(*row, *_actor_and_tick(row[6])) for row in rows]))
        after, done = rows[-1][0], done + len(rows)
        if total > 10 * _BATCH and done % (25 * _BATCH) < _BATCH:
            print(f"  compact rows: {done:,} of {total:,} events", file=sys.stderr, flush=True)
    cursor.execute("DROP TABLE events_event")  # with its indexes and triggers
    cursor.execute('ALTER TABLE "new__events_event" RENAME TO "events_event"')
    for statement in SQLITE_TRIGGERS:
        cursor.execute(statement)


def _fill_postgres_columns(cursor) -> None:
    cursor.execute("ALTER TABLE events_event DISABLE TRIGGER events_event_refuse_change")
    cursor.execute("""UPDATE events_event SET actor = COALESCE(metadata->>'actor', ''),
                      tick = CASE WHEN jsonb_typeof(metadata->'tick') = 'number'
                                   AND metadata->>'tick' ~ '^-?[0-9]{1,18}$' THEN (metadata->>'tick')::bigint END""")
    cursor.execute("ALTER TABLE events_event ENABLE TRIGGER events_event_refuse_change")
    cursor.execute("ALTER TABLE events_event ALTER COLUMN actor DROP DEFAULT")


def forward(apps, schema_editor):
    execute = schema_editor.execute
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "sqlite":
            _rebuild_sqlite_table(cursor)
        else:
            execute("ALTER TABLE events_event ADD COLUMN actor varchar(160) NOT NULL DEFAULT ''")
            execute("ALTER TABLE events_event ADD COLUMN tick bigint NULL")
            _fill_postgres_columns(cursor)
            execute(f"DROP INDEX IF EXISTS {OLD_TYPE_INDEX}")
    for marker, name in MARKER_INDEXES.items():
        execute(f"CREATE INDEX {name} ON events_event (stream_id, position) WHERE type = '{marker}'")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        raise RuntimeError("the compact rows cannot be turned back into text by this migration: "
                           "restore the database from before it (export_world, or a file copy)")
    for name in MARKER_INDEXES.values():
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    schema_editor.execute(f"CREATE INDEX {OLD_TYPE_INDEX} ON events_event (type)")
    schema_editor.execute("ALTER TABLE events_event DROP COLUMN tick")
    schema_editor.execute("ALTER TABLE events_event DROP COLUMN actor")


class Migration(migrations.Migration):

    dependencies = [
        ("events", "0008_row_locks"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forward, backward)],
            state_operations=[
                migrations.AlterField("event", "event_id", events.models.StoredIdField(
                    help_text="UUID, lowercase, hyphenated", max_length=36, unique=True)),
                migrations.AlterField("event", "data", events.models.StoredJSONField()),
                migrations.AlterField("event", "metadata", events.models.StoredJSONField()),
                migrations.AlterField("event", "prev_hash", events.models.StoredHashField(blank=True, max_length=64)),
                migrations.AlterField("event", "hash", events.models.StoredHashField(max_length=64)),
                migrations.AlterField("event", "type", models.CharField(max_length=100)),
                migrations.AddField("event", "actor", models.CharField(blank=True, default="", max_length=160),
                                    preserve_default=False),
                migrations.AddField("event", "tick", models.BigIntegerField(blank=True, null=True)),
                *[migrations.AddIndex("event", models.Index(
                    condition=Q(type=marker), fields=["stream", "position"], name=name))
                  for marker, name in MARKER_INDEXES.items()],
            ],
        ),
    ]
