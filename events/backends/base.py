"""The interface every event store backend implements."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator


class StoreBackend:
    vendor = ""
    json_cast = ""  # appended to a JSON parameter's placeholder ("::jsonb" on PostgreSQL)
    # False: one writer at a time, so global positions are 1..max without a hole. True: appends
    # take positions in parallel, and a rolled-back one may leave its positions unused.
    parallel_writers = False

    def lock_writers(self, cursor) -> None:
        """Hold the store's write lock until the current transaction ends (no append interleaves)."""
        raise NotImplementedError("subclasses must implement lock_writers()")

    def lock_streams(self, cursor, stream_ids: Iterable[str]) -> bool:
        """Serialise this transaction with every other append to these streams, until it ends.

        Return True when it now runs alone (no other append can interleave at all)."""
        raise NotImplementedError("subclasses must implement lock_streams()")

    def lock_projections(self, cursor, keys: Iterable[tuple[str, str]]) -> None:
        """Serialise this transaction with every other append that folds into these (projection,
        key) rows, until it ends."""
        raise NotImplementedError("subclasses must implement lock_projections()")

    def reserve_global_positions(self, cursor, count: int) -> int:
        """Take `count` consecutive global positions for this transaction; return the first."""
        raise NotImplementedError("subclasses must implement reserve_global_positions()")

    def claim_event_ids(self, cursor, event_ids: list[str]) -> None:
        """Refuse, with an IntegrityError naming event_id, an id another event already holds.

        (Where the event table's own unique index does this, there is nothing to do.)"""

    def read_horizon(self, connection) -> int | None:
        """Return the global position that `read_all` must stay below now (None: no bound)."""
        raise NotImplementedError("subclasses must implement read_horizon()")

    @contextlib.contextmanager
    def read_snapshot(self, connection) -> Iterator[None]:
        """Run the block's reads on one consistent snapshot of the database, without blocking writers.

        Inside a transaction already, the block simply runs in it."""
        raise NotImplementedError("subclasses must implement read_snapshot()")
        yield  # pragma: no cover

    def stored_rows(self, rows: list[list]) -> list:
        """Return event rows (id, hashes, data and metadata as text) as this backend stores them."""
        return rows

    def stored_event_ids(self, event_ids: list[str]) -> tuple[str, list]:
        """Return (SQL for `event_id IN (<it>)`, its params) matching these ids as stored."""
        return self.values_table(event_ids)

    def values_table(self, values: Iterable[str]) -> tuple[str, list]:
        """Return (SQL of a one-column subquery yielding `values` in a column named `value`, its
        params): one parameter, however many values, for `column IN (<subquery>)` or a FROM."""
        raise NotImplementedError("subclasses must implement values_table()")

    @staticmethod
    def _json_list(values: Iterable[str]) -> str:
        return json.dumps(list(values))
