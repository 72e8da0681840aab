"""PostgreSQL: the functions behind parallel appends (docs/parallel-appends.md). SQLite: nothing.

- `events_lock_streams(stream_ids)`: the writers' gate in shared mode (`lock_writers()` takes it
  exclusively), then one transaction-level advisory lock per stream, in one global order.
- `events_lock_names(namespace, names)`: the same per-name locks for any other namespace
  (projection keys).
- `events_reserve_global_positions(n)`: take the next n global positions and mark them in flight
  with advisory locks held to the end of the transaction. A short session-level gate orders
  reservations; it is released before the function returns.
- `events_read_horizon()`: the lowest global position a reader may not pass yet (the first one
  an unfinished transaction has reserved), so `read_all` never skips an event that commits late.

The constants are the ones in events/backends/postgresql.py.
"""

from django.db import migrations

FORWARD = [
    # Every reservation in flight in this database (or only other sessions'): advisory locks with
    # keys (0x5E1F << 48) + position.
    """CREATE OR REPLACE FUNCTION events_positions_in_flight(others_only boolean, OUT low bigint, OUT high bigint)
       LANGUAGE sql VOLATILE AS $$
         SELECT min(p), max(p) FROM (
           SELECT ((classid::int8 & 65535) << 32) | objid::int8 AS p FROM pg_locks
           WHERE locktype = 'advisory' AND objsubid = 1 AND granted
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND (classid::int8 >> 16) = 24095
             AND NOT (others_only AND pid = pg_backend_pid())) AS reserved
       $$""",
    # A transaction that holds the writers' gate exclusively is alone: it needs no lock by name.
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
    # The writers' gate (0x5E1F91A7) in shared mode, then a lock per stream (namespace
    # 0x5E1F0001). An append to more than 64 streams (a tick of a large region) takes the gate
    # exclusively instead and runs alone, as every append did before: a lock per stream would
    # exhaust the lock table (max_locks_per_transaction, 64 per connection by default).
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
    # In flight first, then the committed maximum: a transaction that commits between the two
    # reads is then counted by the second (its rows are visible before its locks go).
    """CREATE OR REPLACE FUNCTION events_reserve_global_positions(n integer) RETURNS bigint
       LANGUAGE plpgsql VOLATILE AS $$
       DECLARE
         busy bigint;
         top bigint;
         first_position bigint;
       BEGIN
         PERFORM pg_advisory_lock(1579127208);  -- the reservation gate (0x5E1F91A8), session-level
         BEGIN
           SELECT high INTO busy FROM events_positions_in_flight(false);
           SELECT COALESCE(max(global_position), 0) INTO top FROM events_event;
           first_position := GREATEST(top, COALESCE(busy, 0)) + 1;
           PERFORM pg_advisory_xact_lock((24095::int8 << 48) + first_position);
           IF n > 1 THEN
             PERFORM pg_advisory_xact_lock((24095::int8 << 48) + first_position + n - 1);
           END IF;
         EXCEPTION WHEN query_canceled OR others THEN  -- OTHERS alone lets a cancel through
           PERFORM pg_advisory_unlock(1579127208);
           RAISE;
         END;
         PERFORM pg_advisory_unlock(1579127208);
         RETURN first_position;
       END $$""",
    # The committed maximum first, then what is in flight (the other order than reserving):
    # a position reserved after the first read is above that maximum, and one reserved before
    # it is either committed by the time the rows are read or still locked here. The reader's
    # own reservations do not count: its own rows are visible to it.
    """CREATE OR REPLACE FUNCTION events_read_horizon() RETURNS bigint
       LANGUAGE plpgsql VOLATILE AS $$
       DECLARE
         top bigint;
         busy bigint;
       BEGIN
         SELECT COALESCE(max(global_position), 0) INTO top FROM events_event;
         SELECT low INTO busy FROM events_positions_in_flight(true);
         RETURN LEAST(top + 1, COALESCE(busy, top + 1));
       END $$""",
]
BACKWARD = [
    "DROP FUNCTION IF EXISTS events_read_horizon()",
    "DROP FUNCTION IF EXISTS events_reserve_global_positions(integer)",
    "DROP FUNCTION IF EXISTS events_lock_streams(text[])",
    "DROP FUNCTION IF EXISTS events_lock_names(integer, text[])",
    "DROP FUNCTION IF EXISTS events_positions_in_flight(boolean)",
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
        ("events", "0005_drop_redundant_stream_indexes"),
    ]

    operations = [migrations.RunPython(forward, backward)]
