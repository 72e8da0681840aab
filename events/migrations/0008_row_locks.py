"""PostgreSQL: appends lock the rows they write (stream heads, projection rows), not names.

Before this, each stream and projection key took an advisory lock by name, and an append to
more than 64 streams (any tick of a region with more than 63 agents) took the writers' gate
exclusively instead and ran alone: the lock table holds about 64 locks per connection. Row
locks live in the rows themselves, so a tick of 1,000 agents locks 1,000 heads at no cost to
the lock table and ticks of other regions run beside it.

- `events_lock_streams(stream_ids)`: the writers' gate in shared mode (`lock_writers()` takes it
  exclusively), then every stream head row in the order given (sorted by the caller). One
  INSERT … ON CONFLICT DO UPDATE … WHERE false does both: an existing head is locked as it
  stands (WHERE false updates nothing, but ON CONFLICT DO UPDATE locks every conflicting row),
  a missing one is inserted as a placeholder at version 0, which other appends to that stream
  wait on like a lock. The append then writes every head it locked, so no placeholder commits.
- `events_lock_projections(names, keys)`: the same for projection rows, a placeholder being a
  row at global position 0 (a stored state is always above 0; readers treat 0 as absent).

One statement per table, rows in one global order, and every transaction locks streams before
projection rows: two appends cannot wait on each other in a cycle (docs/parallel-appends.md).
SQLite: nothing (one writer).
"""

from django.db import migrations

FORWARD = [
    """CREATE OR REPLACE FUNCTION events_lock_streams(stream_ids text[]) RETURNS void
       LANGUAGE plpgsql VOLATILE AS $$
       BEGIN
         PERFORM pg_advisory_xact_lock_shared(1579127207);
         INSERT INTO events_stream AS s (id, kind, version, head_hash, created_at)
           SELECT id, split_part(id, ':', 1), 0, '', now()
           FROM unnest(stream_ids) WITH ORDINALITY AS wanted(id, n) ORDER BY n
         ON CONFLICT (id) DO UPDATE SET version = s.version WHERE false;
       END $$""",
    """CREATE OR REPLACE FUNCTION events_lock_projections(names text[], keys text[]) RETURNS void
       LANGUAGE sql VOLATILE AS $$
         INSERT INTO events_projection AS p (name, key, state, global_position, checksum, updated_at)
           SELECT name, key, 'null'::jsonb, 0, '', now()
           FROM unnest(names, keys) WITH ORDINALITY AS wanted(name, key, n) ORDER BY n
         ON CONFLICT (name, key) DO UPDATE SET global_position = p.global_position WHERE false
       $$""",
    "DROP FUNCTION IF EXISTS events_lock_names(integer, text[])",
]

# 0006's functions, as they were.
BACKWARD = [
    "DROP FUNCTION IF EXISTS events_lock_projections(text[], text[])",
    """CREATE OR REPLACE FUNCTION events_lock_names(namespace integer, names text[]) RETURNS void
       LANGUAGE plpgsql VOLATILE AS $$
       DECLARE k integer;
       BEGIN
         IF cardinality(names) > 64 AND EXISTS (
             SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory'
               AND classid = 0 AND objid = 1579127207 AND objsubid = 1 AND mode = 'ExclusiveLock') THEN
           RETURN;
         END IF;
         FOR k IN SELECT DISTINCT hashtext(n) FROM unnest(names) AS n ORDER BY 1 LOOP
           PERFORM pg_advisory_xact_lock(namespace, k);
         END LOOP;
       END $$""",
    """CREATE OR REPLACE FUNCTION events_lock_streams(stream_ids text[]) RETURNS void
       LANGUAGE plpgsql VOLATILE AS $$
       BEGIN
         IF cardinality(stream_ids) > 64 THEN
           PERFORM pg_advisory_xact_lock(1579127207);
         ELSE
           PERFORM pg_advisory_xact_lock_shared(1579127207);
           PERFORM events_lock_names(1579089921, stream_ids);
         END IF;
       END $$""",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ("events", "0007_partitioned_events"),
    ]

    operations = [migrations.RunPython(forward, backward)]
