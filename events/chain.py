"""Verification of the per-stream hash chains (DESIGN §2), and of what can be checked around them.

Everything is read on one consistent snapshot (events.backends: a REPEATABLE READ transaction on
PostgreSQL, a deferred read transaction on SQLite), so a daemon appending meanwhile can never
look like a broken chain, and writers are never blocked. Checked:

- every stream: positions 1..head without a gap, each prevHash the previous event's hash, each
  hash recomputed from the event, the head row naming the last event and its hash;
- the global sequence: positions 1..max, none missing (deleting events leaves a hole), where
  the backend keeps it contiguous (SQLite's one writer; on PostgreSQL appends take positions in
  parallel and a rolled-back one leaves its positions unused: docs/parallel-appends.md);
- every signed anchor (events.anchors): a valid signature, and the event at its position still
  carrying its hash (a rewritten and re-hashed history fails here).

`recordedAt` is outside the hash by contract (DESIGN §2: it says when the store wrote the event,
not what happened), so a changed timestamp is not detected; nothing in the game depends on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection

from . import backends
from .anchors import signed
from .compact import loop_reader, unpack_hash, unpack_id
from .hashing import chain_hash, envelope_json, event_hash, plain_event_hash
from .selectors import load_stored_json
from .types import CANONICAL_UUID_RE, STREAM_ID_RE, valid_event_type

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
    anchors: int = 0

    @property
    def intact(self) -> bool:
        return self.broken is None


def _fetch(sql: str, params: list | tuple = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _heads(stream_id: str | None) -> dict[str, tuple[int, str]]:
    if stream_id is None:
        rows = _fetch("SELECT id, version, head_hash FROM events_stream ORDER BY id")
    else:
        rows = _fetch("SELECT id, version, head_hash FROM events_stream WHERE id = %s", [stream_id])
    return {row[0]: (row[1], row[2]) for row in rows}


def _anchors(stream_id: str | None) -> dict[str, dict[int, tuple[str, str]]]:
    sql = "SELECT stream_id, position, hash, signature FROM events_anchor"
    rows = _fetch(sql + " WHERE stream_id = %s", [stream_id]) if stream_id else _fetch(sql)
    anchors: dict[str, dict[int, tuple[str, str]]] = {}
    for stream, position, hash_, signature in rows:
        anchors.setdefault(stream, {})[position] = (hash_, signature)
    return anchors


class _Row(NamedTuple):
    """An event as the chain reads it: data and metadata as stored, undecoded."""

    id: str
    stream_id: str
    position: int
    type: str
    data: object  # the stored JSON text (or, from a driver that decodes JSON itself, the value)
    metadata: object
    prev_hash: str
    hash: str


_ROW_COLUMNS = "event_id, stream_id, position, type, data, metadata, prev_hash, hash"


def _stored_rows(rows) -> list[_Row]:
    """The rows with their ids, hashes and JSON texts out of the compact form (events.compact);
    a row in text (PostgreSQL's, or one written by hand) passes through as it is.

    Each value is read inline, without a call of its own but zstd's: verify_chain reads the
    whole log, two values an event."""
    form, decompress, read = loop_reader()
    return [_Row(unpack_id(event_id), stream_id, position, type_,
                 data if type(data) is not bytes
                 else (decompress(data[1:]) if data[0] == form else read(data)).decode(),
                 metadata if type(metadata) is not bytes
                 else (decompress(metadata[1:]) if metadata[0] == form else read(metadata)).decode(),
                 unpack_hash(prev_hash), unpack_hash(hash_))
            for event_id, stream_id, position, type_, data, metadata, prev_hash, hash_ in rows]


def _events_in_stream_order(stream_ids: list[str]) -> Iterator[_Row]:
    """Yield every event of the given streams, stream by stream, in position order.

    Each page is a range scan of the (stream, position) index, so the whole pass stays linear
    in the size of the log.
    """
    for stream_id in stream_ids:
        last_position = 0
        while True:
            rows = _fetch(f"SELECT {_ROW_COLUMNS} FROM events_event WHERE stream_id = %s AND position > %s "
                          "ORDER BY position LIMIT %s", [stream_id, last_position, _PAGE])
            if not rows:
                break
            yield from _stored_rows(rows)
            last_position = rows[-1][2]


def _events_in_log_order() -> Iterator[_Row]:
    """Yield every event in global order: a sequential scan of the table, for a single writer's
    log, where each stream's events follow one another in that order too (the store numbers
    them in the same transaction, one append at a time)."""
    last_global = 0
    while True:
        rows = _fetch(f"SELECT global_position, {_ROW_COLUMNS} FROM events_event WHERE global_position > %s "
                      "ORDER BY global_position LIMIT %s", [last_global, _PAGE])
        if not rows:
            break
        yield from _stored_rows([row[1:] for row in rows])
        last_global = rows[-1][0]


def _orphan_stream(known: set[str]) -> str | None:
    """Return a stream id that has events but no head row, if any."""
    rows = _fetch("SELECT DISTINCT stream_id FROM events_event WHERE stream_id NOT IN "
                  "(SELECT id FROM events_stream) LIMIT 1")
    return rows[0][0] if rows and rows[0][0] not in known else None


def _global_gap() -> ChainBreak | None:
    ((count, low, high),) = _fetch(
        "SELECT COUNT(*), COALESCE(MIN(global_position), 0), COALESCE(MAX(global_position), 0) FROM events_event")
    if count and (low != 1 or high != count):
        return ChainBreak("(all streams)", high, f"global positions 1..{high} hold only {count} events: "
                          "events were deleted")
    return None


def verify_chains(
    *, stream_id: str | None = None, progress: Callable[[int], None] | None = None
) -> ChainReport:
    """Check every stream (or one) on one consistent snapshot; return the first break found."""
    with backends.current().read_snapshot(connection):
        return _verify(stream_id, progress)


class _StreamCheck:
    """The running check of one stream, event by event."""

    def __init__(self, stream_id: str, head: tuple[int, str] | None, anchors: dict[int, tuple[str, str]]):
        self.stream_id, self.head, self.anchors = stream_id, head, anchors
        self.expected, self.prev_hash = 1, ""
        # What the store accepts (events.types) JSON writes between quotes as it is.
        self.valid_stream_id = STREAM_ID_RE.match(stream_id) is not None

    def feed(self, event) -> str | None:
        if event.position != self.expected:
            return f"gap: found position {event.position}"
        if event.prev_hash != self.prev_hash:
            return "prevHash does not link to the previous event"
        if self._recomputed(event) != event.hash:
            return "hash does not match the event's content"
        anchor = self.anchors.get(event.position)
        if anchor is not None:
            if not signed(self.stream_id, event.position, *anchor):
                return "its anchor's signature is not valid"
            if anchor[0] != event.hash:
                return "hash differs from the signed anchor: the history was rewritten"
        self.prev_hash, self.expected = event.hash, self.expected + 1
        return None

    def _recomputed(self, event: _Row) -> str:
        """Return the event's hash recomputed from its content.

        The store writes data and metadata as their canonical text (SQLite keeps it verbatim), so
        the stored text is hashed first: if that gives the recorded hash, it is the very text
        that was hashed (sha256), and decoding and re-encoding it is skipped. Otherwise (a
        backend that reformats JSON, like jsonb, or a changed event) the values are decoded and
        hashed canonically, which is the definition.
        """
        if isinstance(event.data, str) and isinstance(event.metadata, str):
            if self.valid_stream_id and valid_event_type(event.type) and CANONICAL_UUID_RE.match(event.id):
                # Every event the store wrote: nothing in the envelope's names needs escaping.
                as_stored = plain_event_hash(self.prev_hash, event.id, event.stream_id, event.position,
                                             event.type, event.data, event.metadata)
            else:
                as_stored = chain_hash(self.prev_hash, envelope_json(
                    event_id=event.id, stream_id=event.stream_id, position=event.position, type=event.type,
                    data_json=event.data, metadata_json=event.metadata))
            if as_stored == event.hash:
                return as_stored
        return event_hash(prev_hash=self.prev_hash, event_id=event.id, stream_id=event.stream_id,
                          position=event.position, type=event.type, data=load_stored_json(event.data),
                          metadata=load_stored_json(event.metadata))

    def close(self) -> ChainBreak | None:
        last = self.expected - 1
        if self.head is None:
            return ChainBreak(self.stream_id, 0, "events exist for a stream with no head row")
        if (last, self.prev_hash) != self.head:
            return ChainBreak(self.stream_id, self.head[0], "stream head does not match its last event")
        beyond = [p for p in self.anchors if p > last]
        if beyond:
            return ChainBreak(self.stream_id, min(beyond), "an anchored position is missing: events were deleted")
        return None


def _verify(stream_id: str | None, progress: Callable[[int], None] | None) -> ChainReport:
    heads = _heads(stream_id)
    anchors = _anchors(stream_id)
    anchored = sum(len(a) for a in anchors.values())
    if stream_id is None:
        if orphan := _orphan_stream(set(heads)):
            return ChainReport(len(heads), 0, ChainBreak(orphan, 0, "events exist for a stream with no head row"))
        if not backends.current().parallel_writers and (gap := _global_gap()):
            return ChainReport(len(heads), 0, gap)
    # A single writer's log is read in its own order, one sequential pass (reading stream by
    # stream jumps across the whole file): each stream's positions rise with global positions
    # there, and one that does not shows up as a gap. With parallel writers (PostgreSQL) each
    # stream is read by its (stream, position) index, the order its chain is defined in.
    in_log_order = stream_id is None and not backends.current().parallel_writers
    events = _events_in_log_order() if in_log_order else _events_in_stream_order(sorted(heads))
    checks: dict[str, _StreamCheck] = {}
    count = 0
    for event in events:
        check = checks.get(event.stream_id)
        if check is None:
            check = checks[event.stream_id] = _StreamCheck(
                event.stream_id, heads.get(event.stream_id), anchors.get(event.stream_id, {}))
        count += 1
        if progress is not None and count % 1000 == 0:
            progress(1000)
        if reason := check.feed(event):
            return ChainReport(len(checks), count, ChainBreak(check.stream_id, event.position, reason), anchored)
    for stream in sorted(checks):
        if broken := checks[stream].close():
            return ChainReport(len(checks), count, broken, anchored)
    for stream, (version, _) in heads.items():
        if stream not in checks and version != 0:
            return ChainReport(len(checks), count, ChainBreak(stream, 1, f"head at {version} but no events"), anchored)
    return ChainReport(len(heads), count, None, anchored)
