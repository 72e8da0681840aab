"""Verification of the per-stream hash chains (DESIGN §2)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import connection

from .hashing import event_hash
from .selectors import ROW_COLUMNS, decode_rows

_PAGE = 5000


@dataclass(frozen=True)
class ChainBreak:
    """The first place where a stream's chain does not hold."""

    stream_id: str
    position: int
    reason: str

    def __str__(self) -> str:
        return f"{self.stream_id} at position {self.position}: {self.reason}"


@dataclass(frozen=True)
class ChainReport:
    streams: int
    events: int
    broken: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def _heads(stream_id: str | None) -> dict[str, tuple[int, str]]:
    with connection.cursor() as cursor:
        if stream_id is None:
            cursor.execute("SELECT id, version, head_hash FROM events_stream ORDER BY id")
        else:
            cursor.execute("SELECT id, version, head_hash FROM events_stream WHERE id = %s", [stream_id])
        return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


def _events_in_stream_order(stream_ids: list[str]) -> Iterator:
    """Yield every event of the given streams, stream by stream, in position order.

    Each page is a range scan of the (stream, position) index, so the whole pass stays linear
    in the size of the log.
    """
    for stream_id in stream_ids:
        last_position = 0
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {ROW_COLUMNS} FROM events_event WHERE stream_id = %s AND position > %s "
                    "ORDER BY position LIMIT %s",
                    [stream_id, last_position, _PAGE],
                )
                rows = cursor.fetchall()
            if not rows:
                break
            yield from decode_rows(rows)
            last_position = rows[-1][2]


def _orphan_stream(known: set[str]) -> str | None:
    """Return a stream id that has events but no head row, if any."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT stream_id FROM events_event WHERE stream_id NOT IN "
                       "(SELECT id FROM events_stream) LIMIT 1")
        row = cursor.fetchone()
    return row[0] if row and row[0] not in known else None


def verify_chains(
    *, stream_id: str | None = None, progress: Callable[[int], None] | None = None
) -> ChainReport:
    """Check every stream (or one): gapless positions, linked prev hashes, recomputed hashes."""
    heads = _heads(stream_id)
    seen: dict[str, tuple[int, str]] = {}
    current, expected_position, prev_hash = None, 1, ""
    count = 0

    def close(stream: str) -> ChainBreak | None:
        head = heads.get(stream)
        if head is None:
            return ChainBreak(stream, 0, "events exist for a stream with no head row")
        if (expected_position - 1, prev_hash) != head:
            return ChainBreak(stream, head[0], "stream head does not match its last event")
        return None

    if stream_id is None and (orphan := _orphan_stream(set(heads))):
        return ChainReport(len(heads), 0, ChainBreak(orphan, 0, "events exist for a stream with no head row"))
    for event in _events_in_stream_order(sorted(heads)):
        if event.stream_id != current:
            if current is not None and (broken := close(current)):
                return ChainReport(len(seen), count, broken)
            current, expected_position, prev_hash = event.stream_id, 1, ""
            seen[current] = (0, "")
        count += 1
        if progress is not None and count % 1000 == 0:
            progress(1000)
        if event.position != expected_position:
            return ChainReport(len(seen), count, ChainBreak(
                current, expected_position, f"gap: found position {event.position}"))
        if event.prev_hash != prev_hash:
            return ChainReport(len(seen), count, ChainBreak(
                current, event.position, "prevHash does not link to the previous event"))
        recomputed = event_hash(
            prev_hash=prev_hash, event_id=event.id, stream_id=event.stream_id,
            position=event.position, type=event.type, data=event.data, metadata=event.metadata,
        )
        if recomputed != event.hash:
            return ChainReport(len(seen), count, ChainBreak(
                current, event.position, "hash does not match the event's content"))
        prev_hash = event.hash
        expected_position += 1
    if current is not None and (broken := close(current)):
        return ChainReport(len(seen), count, broken)
    for stream, (version, _) in heads.items():
        if stream not in seen and version != 0:
            return ChainReport(len(seen), count, ChainBreak(stream, 1, f"head at {version} but no events"))
    return ChainReport(len(heads), count, None)
