"""PostgreSQL: appends to unrelated streams run in parallel; readers stay below the in-flight horizon.

How it holds (docs/parallel-appends.md has the argument in full; the SQL functions are in
migrations 0006 and 0008):

- Writers of one stream queue on the lock of its head row (a placeholder row while the stream
  is new), so positions, expected versions and the hash chain stay exact; projection rows are
  locked the same way. Row locks live in the rows, not the lock table: a tick of thousands of
  agents locks them all and ticks of other regions run beside it (migration 0008).
- Global positions are reserved in a short critical section as max(committed, in flight) + 1,
  and each reservation is marked with advisory locks held until its transaction ends.
- `read_all` reads only below the horizon: the lowest position still in flight. An event that
  commits late is therefore never passed by a reader's cursor, and the cursor stays the global
  position.
- `lock_writers()` takes the writers' gate exclusively: every append holds it in shared mode.
- The log is partitioned by global position (events.partitions); an append that leaves too few
  empty partitions ahead has more made after it commits, and event ids are kept unique in a
  table of their own.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar

from django.db import transaction

from .. import partitions
from .base import StoreBackend

# The writers' gate, an advisory lock key (any constant works; it names "the event store's
# writers" among advisory locks). Migrations 0006 and 0008 hold the others.
ADVISORY_LOCK_KEY = 0x5E1F_91A7

_pinned_horizon: ContextVar[int | None] = ContextVar("selfplay_pinned_read_horizon", default=None)


class PostgresBackend(StoreBackend):
    vendor = "postgresql"
    json_cast = "::jsonb"
    parallel_writers = True

    def lock_writers(self, cursor) -> None:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])

    def lock_streams(self, cursor, stream_ids) -> bool:
        # Sorted: every append locks rows in one order, so none waits on another in a cycle.
        cursor.execute("SELECT events_lock_streams(%s::text[])", [sorted(set(stream_ids))])
        return False

    def lock_projections(self, cursor, keys) -> None:
        keys = sorted(set(keys))
        if keys:
            cursor.execute("SELECT events_lock_projections(%s::text[], %s::text[])",
                           [[name for name, _ in keys], [key for _, key in keys]])

    def reserve_global_positions(self, cursor, count: int) -> int:
        cursor.execute("SELECT events_reserve_global_positions(%s)", [count])
        first = cursor.fetchone()[0]
        if partitions.needs_more_after(first + count - 1):
            transaction.on_commit(partitions.ensure, robust=True)
        return first

    def claim_event_ids(self, cursor, event_ids: list[str]) -> None:
        # The log is partitioned (migration 0007) and a unique index there must hold the
        # partition key: ids are unique through this table of them instead.
        cursor.execute("INSERT INTO events_event_id (event_id) SELECT unnest(%s::uuid[])", [event_ids])

    def read_horizon(self, connection) -> int | None:
        pinned = _pinned_horizon.get()
        if pinned is not None and connection.in_atomic_block:
            return pinned
        # Its own statement: under READ COMMITTED the rows are then read on a later snapshot.
        with connection.cursor() as cursor:
            cursor.execute("SELECT events_read_horizon()")
            return cursor.fetchone()[0]

    @contextlib.contextmanager
    def read_snapshot(self, connection):
        if connection.in_atomic_block:
            yield  # the caller's transaction decides (SET TRANSACTION must come first in it)
            return
        # The horizon is taken before the snapshot: every position below it had finished by
        # then, so the snapshot sees all of them that committed.
        horizon = self.read_horizon(connection)
        token = _pinned_horizon.set(horizon)
        try:
            with transaction.atomic(using=connection.alias):
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield
        finally:
            _pinned_horizon.reset(token)

    def values_table(self, values):
        return "SELECT jsonb_array_elements_text(%s::jsonb) AS value", [self._json_list(values)]
