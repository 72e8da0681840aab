"""SQLite: one writer at a time (IMMEDIATE transactions), WAL for readers beside it."""

from __future__ import annotations

import contextlib

from ..compact import pack_id, pack_rows
from .base import StoreBackend


class SQLiteBackend(StoreBackend):
    """Rows are stored in the compact form (events.compact): an embedded database is one file on
    one disk, and the form halves it."""

    vendor = "sqlite"

    def lock_writers(self, cursor) -> None:
        cursor.execute("SELECT 1")  # BEGIN IMMEDIATE already holds SQLite's write lock

    def lock_streams(self, cursor, stream_ids) -> bool:
        self.lock_writers(cursor)  # the database write lock covers every stream
        return True

    def lock_projections(self, cursor, keys) -> None:
        pass  # the database write lock, taken by lock_streams(), covers them

    def reserve_global_positions(self, cursor, count: int) -> int:
        # Under the write lock, max + 1 is taken by no one else and commits in order.
        cursor.execute("SELECT COALESCE(MAX(global_position), 0) FROM events_event")
        return cursor.fetchone()[0] + 1

    def read_horizon(self, connection) -> int | None:
        return None  # one writer: whatever a reader sees is a prefix of the log

    @contextlib.contextmanager
    def read_snapshot(self, connection):
        # A deferred read transaction: under WAL it sees one snapshot and lets writers go on.
        # (Django's atomic() would BEGIN IMMEDIATE here and stop every writer meanwhile.)
        if connection.in_atomic_block:
            yield  # the caller's transaction already reads one snapshot
            return
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
            try:
                cursor.execute("SELECT 1 FROM events_stream LIMIT 1")  # the snapshot starts here
                yield
            finally:
                cursor.execute("ROLLBACK")

    def values_table(self, values):
        return "SELECT value FROM json_each(%s)", [self._json_list(values)]

    def stored_rows(self, rows):
        return pack_rows(rows)

    def stored_event_ids(self, event_ids):
        # Blobs cannot come out of json_each (and SQLite 3.40 has no unhex()): one parameter each.
        return ", ".join(["%s"] * len(event_ids)), [pack_id(event_id) for event_id in event_ids]
