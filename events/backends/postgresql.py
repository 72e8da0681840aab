"""PostgreSQL: appends to unrelated streams run in parallel; readers stay below the in-flight horizon.

How it holds (docs/parallel-appends.md has the argument in full; the SQL functions are in
migration 0006):

- Writers of one stream queue on a transaction-level advisory lock of that stream, so positions,
  expected versions and the hash chain stay exact. Projection keys are locked the same way.
  An append to more than 64 streams runs alone instead (the lock table is finite).
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

# Advisory lock keys: the writers' gate (any constant works; it names "the event store's writers"
# among advisory locks) and the namespace of projection keys. Migration 0006 holds the others.
ADVISORY_LOCK_KEY = 0x5E1F_91A7
NAMES_NAMESPACE = 0x5E1F_0002
# Beyond this many streams an append takes the writers' gate exclusively (migration 0006).
STREAMS_BEFORE_RUNNING_ALONE = 64

_pinned_horizon: ContextVar[int | None] = ContextVar("selfplay_pinned_read_horizon", default=None)


class PostgresBackend(StoreBackend):
    vendor = "postgresql"
    json_cast = "::jsonb"
    parallel_writers = True

    def lock_writers(self, cursor) -> None:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])

    def lock_streams(self, cursor, stream_ids) -> bool:
        stream_ids = sorted(set(stream_ids))
        cursor.execute("SELECT events_lock_streams(%s::text[])", [stream_ids])
        return len(stream_ids) > STREAMS_BEFORE_RUNNING_ALONE

    def lock_names(self, cursor, names) -> None:
        names = sorted(set(names))
        if names:
            cursor.execute("SELECT events_lock_names(%s, %s::text[])", [NAMES_NAMESPACE, names])

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
        return "SELECT jsonb_array_elements_text(%s::jsonb)", [self._json_list(values)]
