"""The event table's partitions on PostgreSQL: range partitions of global positions, made ahead.

On PostgreSQL `events_event` is partitioned by `global_position` (migration 0007,
docs/partitioning.md): partitions `events_event_p<first position>` of
`SELFPLAY_EVENT_PARTITION_SIZE` positions each, every one with its own unique
`(stream_id, position)` index. `ensure()` keeps `SELFPLAY_EVENT_PARTITIONS_AHEAD` empty
partitions above the head; it runs after migrating, from beat, and after the commit of an
append that leaves fewer than that many. SQLite's log is one table: there is nothing to do.

A partition is made as a table of its own, indexed while empty, then attached: ATTACH PARTITION
takes SHARE UPDATE EXCLUSIVE on the parent, which appends (ROW EXCLUSIVE) and reads do not wait
for, so making partitions never stalls the log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

PARENT = "events_event"
# Serialises ensure() callers (beat, a worker after commit, the command): 0x5E1F91A9.
_ENSURE_LOCK_KEY = 0x5E1F_91A9
_BOUND_RE = re.compile(r"FOR VALUES FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)")


@dataclass(frozen=True, slots=True)
class Partition:
    name: str
    first: int  # the first global position it holds
    end: int  # one past the last
    rows: int  # the planner's estimate (pg_class.reltuples; -1: never analysed)
    bytes: int  # table and indexes


def partitioned() -> bool:
    """Return whether this database keeps the log in partitions (PostgreSQL after migration 0007)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [PARENT])
        return cursor.fetchone() is not None


def partitions() -> list[Partition]:
    """Return the log's partitions in position order ([] where the log is one table)."""
    return _read_partitions() if partitioned() else []


def empty_above(found: list[Partition], head: int) -> int:
    """Return how many of the partitions `found` lie wholly above global position `head`."""
    return sum(1 for p in found if p.first > head)


def _read_partitions() -> list[Partition]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint, "
            "pg_total_relation_size(c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass", [PARENT])
        found = []
        for name, bound, rows, size in cursor.fetchall():
            match = _BOUND_RE.search(bound or "")
            if match is None:
                raise RuntimeError(f"partition {name} of {PARENT} has an unexpected bound: {bound!r}")
            found.append(Partition(name, int(match[1]), int(match[2]), rows, size))
    return sorted(found, key=lambda p: p.first)


def head_or_reserved() -> int:
    """Return the highest global position committed or reserved by an append in flight."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT GREATEST(COALESCE((SELECT max(global_position) FROM {PARENT}), 0), "
                       "COALESCE((SELECT high FROM events_positions_in_flight(false)), 0))")
        return cursor.fetchone()[0]


def ensure(*, ahead: int | None = None, size: int | None = None) -> list[str]:
    """Make partitions until `ahead` empty ones lie above the head; return the names made."""
    if not partitioned():
        return []
    ahead = settings.SELFPLAY_EVENT_PARTITIONS_AHEAD if ahead is None else ahead
    size = settings.SELFPLAY_EVENT_PARTITION_SIZE if size is None else size
    if ahead < 1 or size < 1:
        raise ValueError(f"partitions ahead and their size must be at least 1, not {ahead} and {size}")
    made = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Waiting long for the parent's lock would queue appends behind this: give up instead,
            # the next call (beat's, the next append's) tries again.
            cursor.execute("SET LOCAL lock_timeout = '5s'")
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ENSURE_LOCK_KEY])
            existing = _read_partitions()
            head = head_or_reserved()
            first = existing[-1].end if existing else 1
            missing = ahead - empty_above(existing, head)
            while missing > 0:
                made.append(_make(cursor, first, first + size))
                missing -= first > head
                first += size
    _forget_layout()
    return made


def _make(cursor, first: int, end: int) -> str:
    name = f"{PARENT}_p{first}"
    cursor.execute(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)")
    # The bound as a check first, so that ATTACH need not scan the (empty) table to prove it.
    cursor.execute(f"ALTER TABLE {name} ADD CONSTRAINT {name}_bounds "
                   f"CHECK (global_position >= {first} AND global_position < {end})")
    # A unique index must hold the partition key to be global, so (stream, position) is unique
    # per partition; across partitions the store's per-stream lock and head make it so.
    cursor.execute(f"ALTER TABLE {name} ADD CONSTRAINT {name}_stream_position UNIQUE (stream_id, position)")
    cursor.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM ({first}) TO ({end})")
    cursor.execute(f"ALTER TABLE {name} DROP CONSTRAINT {name}_bounds")
    return name


# What this process knows of the layout: its partitions as last read (None: read them again).
_layout: list[Partition] | None = None


def _forget_layout() -> None:
    global _layout
    _layout = None


def needs_more_after(last_position: int) -> bool:
    """Return whether an append that reached `last_position` leaves too few empty partitions
    above it (cheap: the layout is read once per process and after each ensure)."""
    global _layout
    if _layout is None:
        _layout = partitions()
    return empty_above(_layout, last_position) < settings.SELFPLAY_EVENT_PARTITIONS_AHEAD


def summary(head: int) -> dict:
    """Return how the log is kept, for the operator's status: partitions and how many lie ahead."""
    found = partitions()
    return {"partitioned": bool(found), "count": len(found), "emptyAhead": empty_above(found, head)}
