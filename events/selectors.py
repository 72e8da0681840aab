"""Reads from the event store: `read_stream`, `read_all` and stream heads."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import orjson
from django.db import DatabaseError, connection
from django.db.models.expressions import RawSQL

from selfplay.gc_pause import paused_gc

from . import backends
from .compact import json_reader, loop_reader, unpack_hash, unpack_id
from .exceptions import StoreUnavailable
from .types import RecordedEvent

MAX_READ_LIMIT = 10_000
# recorded_at is read as text so that no per-row converter runs; it is parsed below.
ROW_COLUMNS = (
    "event_id, stream_id, position, global_position, type, data, metadata, "
    "CAST(recorded_at AS TEXT), prev_hash, hash"
)
_fromiso = datetime.fromisoformat


def load_stored_json(text):
    """Decode stored JSON with orjson, at half the standard library's cost.

    The two read every stored value alike: integers are stored only when they fit in 64 bits
    (selfplay.canonical.storable), and floats are written as Python's shortest repr, which both
    parse to the same double. Anything orjson refuses is left to the standard library.
    """
    if not isinstance(text, str | bytes):
        return text  # already decoded by the driver
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _parse_moment(text) -> datetime:
    moment = text if isinstance(text, datetime) else _fromiso(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def decode_rows(rows) -> list[RecordedEvent]:
    """Build RecordedEvents from rows selected with ROW_COLUMNS."""
    rows = rows if isinstance(rows, list) else list(rows)
    with paused_gc():
        if rows and type(rows[0][0]) is bytes:
            try:
                return _decode_compact_rows(rows)
            except (AttributeError, TypeError, ValueError):  # a row not in the compact form
                pass
        return _decode_rows(rows)


def _decode_compact_rows(rows) -> list[RecordedEvent]:
    """The rows of SQLite's compact form (events.compact), without a check or call per value
    that decode_rows' general path makes: a page is read at about two thirds of its cost."""
    decoded = []
    last_text, last_moment = None, None
    form, decompress, read = loop_reader()
    loads = orjson.loads
    for event_id, stream_id, position, global_position, type_, data, metadata, recorded_at, prev_hash, hash_ in rows:
        if recorded_at != last_text:
            last_text, last_moment = recorded_at, _parse_moment(recorded_at)
        h = event_id.hex()
        decoded.append(RecordedEvent(
            f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}", stream_id, position, global_position, type_,
            loads(decompress(data[1:]) if data[0] == form else read(data)),
            loads(decompress(metadata[1:]) if metadata[0] == form else read(metadata)),
            last_moment, prev_hash.hex(), hash_.hex()))
    return decoded


def _decode_rows(rows) -> list[RecordedEvent]:
    decoded = []
    last_text, last_moment = None, None
    json_of = json_reader()
    for event_id, stream_id, position, global_position, type_, data, metadata, recorded_at, prev_hash, hash_ in rows:
        # Events of one append share their recorded_at, so consecutive rows mostly repeat it.
        if recorded_at != last_text:
            last_text, last_moment = recorded_at, _parse_moment(recorded_at)
        decoded.append(RecordedEvent(unpack_id(event_id), stream_id, position, global_position, type_,
                                     load_stored_json(json_of(data)), load_stored_json(json_of(metadata)),
                                     last_moment, unpack_hash(prev_hash), unpack_hash(hash_)))
    return decoded


def values_table(values: Iterable[str]) -> tuple[str, list]:
    """Return (SQL of a one-column subquery yielding `values`, its one parameter), for `IN (...)`."""
    return backends.current().values_table(values)


def values_subquery(values: Iterable[str]) -> RawSQL:
    """Return values_table(values) as a subquery for the ORM's `field__in=`."""
    return RawSQL(*values_table(values))


def _check_window(after: int, limit: int) -> None:
    if not isinstance(after, int) or after < 0:
        raise ValueError(f"after must be an int >= 0, not {after!r}")
    if not isinstance(limit, int) or not 1 <= limit <= MAX_READ_LIMIT:
        raise ValueError(f"limit must be an int in 1..{MAX_READ_LIMIT}, not {limit!r}")


def _fetch(sql: str, params: list) -> list[RecordedEvent]:
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return decode_rows(cursor.fetchall())
    except DatabaseError as exc:
        raise StoreUnavailable(f"the event store could not be read: {exc}") from exc


def read_stream(stream_id: str, *, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
    """Return a stream's events with position > after, in order, at most `limit`."""
    _check_window(after, limit)
    return _fetch(
        f"SELECT {ROW_COLUMNS} FROM events_event WHERE stream_id = %s AND position > %s "
        "ORDER BY position LIMIT %s",
        [stream_id, after, limit],
    )


def read_stream_backwards(stream_id: str, *, below: int, floor: int, types: Iterable[str],
                          page: int = 1000) -> Iterator[list[RecordedEvent]]:
    """Yield pages of a stream's events of these types with floor <= position < below, newest
    first: for a caller that picks among them by their data (which SQL cannot read on SQLite,
    events.compact) and stops once it has enough."""
    types = list(types)
    while below > floor:
        events = _fetch(
            f"SELECT {ROW_COLUMNS} FROM events_event WHERE stream_id = %s AND position >= %s AND position < %s "
            f"AND type IN ({', '.join(['%s'] * len(types))}) ORDER BY position DESC LIMIT %s",
            [stream_id, floor, below, *types, page])
        if not events:
            return
        yield events
        below = events[-1].position


def read_all(*, after: int = 0, limit: int = 1000, stream_prefix: str | None = None) -> list[RecordedEvent]:
    """Return events of all streams with global position > after, in commit order.

    Only events below the backend's read horizon are returned: on PostgreSQL, appends commit in
    parallel and a position taken earlier may commit later, so the events at and above the first
    position still in flight wait for the next call. A cursor that has seen G therefore never
    later finds an event below G (docs/parallel-appends.md).
    """
    _check_window(after, limit)
    bound, params = _horizon_bound()
    if stream_prefix:
        # A range on stream_id instead of LIKE: no wildcard escaping, and the index applies.
        return _fetch(
            f"SELECT {ROW_COLUMNS} FROM events_event WHERE global_position > %s {bound}"
            "AND stream_id >= %s AND stream_id < %s ORDER BY global_position LIMIT %s",
            [after, *params, stream_prefix, stream_prefix + "\uffff", limit],
        )
    return _fetch(
        f"SELECT {ROW_COLUMNS} FROM events_event WHERE global_position > %s {bound}"
        "ORDER BY global_position LIMIT %s",
        [after, *params, limit],
    )


def _horizon_bound() -> tuple[str, list]:
    """Return the SQL condition (and its parameters) that keeps a read below the read horizon."""
    try:
        horizon = backends.current().read_horizon(connection)
    except DatabaseError as exc:
        raise StoreUnavailable(f"the event store could not be read: {exc}") from exc
    return ("", []) if horizon is None else ("AND global_position < %s ", [horizon])


def fold_metadata(actor: str, tick: int | None) -> dict:
    """What a fold sees of an event's metadata: its actor and its whole-number tick, the two
    values the store keeps in columns of their own. A rebuild then never decodes the metadata
    itself (on SQLite, compressed: events.compact); `reducer_event` gives the live folds the same."""
    return {"actor": actor} if tick is None else {"actor": actor, "tick": tick}


def read_all_for_folds(*, after: int = 0, limit: int = 1000) -> list[dict]:
    """Return what `read_all` returns, shaped as projection folds read events.

    The shape is `events.projections.reducer_event`'s: type, streamId, position, globalPosition,
    data, and metadata as `fold_metadata`. No fold reads ids, hashes or recorded times, so a
    rebuild neither reads nor parses them: that and skipping the RecordedEvent in between halve
    the cost of its reads.
    """
    _check_window(after, limit)
    bound, params = _horizon_bound()
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT type, stream_id, position, global_position, data, actor, tick FROM events_event "
                f"WHERE global_position > %s {bound}ORDER BY global_position LIMIT %s", [after, *params, limit])
            rows = cursor.fetchall()
    except DatabaseError as exc:
        raise StoreUnavailable(f"the event store could not be read: {exc}") from exc
    # Stored JSON (compact or text) goes straight to orjson; a driver that decodes JSON itself
    # (psycopg) or a text orjson refuses takes the careful path.
    with paused_gc():
        if rows and isinstance(rows[0][4], str | bytes):
            try:
                return _shape_for_folds(rows)
            except (orjson.JSONDecodeError, TypeError):
                pass
        json_of = json_reader()
        return [{"type": type_, "streamId": stream_id, "position": position, "globalPosition": global_position,
                 "data": load_stored_json(json_of(data)), "metadata": fold_metadata(actor, tick)}
                for type_, stream_id, position, global_position, data, actor, tick in rows]


def _shape_for_folds(rows) -> list[dict]:
    form, decompress, read = loop_reader()
    loads = orjson.loads
    return [{"type": type_, "streamId": stream_id, "position": position, "globalPosition": global_position,
             "data": loads(decompress(data[1:]) if data[0] == form else read(data)),
             "metadata": {"actor": actor} if tick is None else {"actor": actor, "tick": tick}}
            for type_, stream_id, position, global_position, data, actor, tick in rows]


def stream_version(stream_id: str) -> int:
    """Return the head position of a stream (0 when it does not exist)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM events_stream WHERE id = %s", [stream_id])
        row = cursor.fetchone()
    return row[0] if row else 0


@contextmanager
def one_snapshot() -> Iterator[None]:
    """Run the block's reads on one consistent snapshot of the log, without blocking writers:
    several reads then see the log as of one moment, never half of a later append."""
    with backends.current().read_snapshot(connection):
        yield


def event_exists(event_id: str) -> bool:
    """Return whether an event with this id is recorded."""
    sql, params = backends.current().stored_event_ids([event_id])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM events_event WHERE event_id IN ({sql})", params)
        return cursor.fetchone() is not None


def stream_heads(stream_ids: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Return {stream id: (version, global position of its last event)} of the existing streams."""
    sql, params = backends.current().values_table(stream_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.id, s.version, e.global_position FROM events_stream s "
            "JOIN events_event e ON e.stream_id = s.id AND e.position = s.version "
            f"WHERE s.id IN ({sql})", params)
        return {stream_id: (version, global_position) for stream_id, version, global_position in cursor}


def head_global_position() -> int:
    """Return the highest global position recorded (0 for an empty store)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(global_position), 0) FROM events_event")
        return cursor.fetchone()[0]


def readable_global_position() -> int:
    """Return the highest global position `read_all` hands out now (the head, less what is in flight).

    On PostgreSQL, appends that took positions and have not committed hold readers below them;
    the head minus this is the readers' lag. Under SQLite's single writer it is the head.
    """
    horizon = backends.current().read_horizon(connection)
    return head_global_position() if horizon is None else horizon - 1


def projection_row(name: str, key: str) -> dict | None:
    """Return `{name, key, globalPosition, checksum, state}` of a stored projection key, or None."""
    from .models import Projection

    row = Projection.objects.filter(name=name, key=key).values("state", "global_position", "checksum").first()
    if row is None:
        return None
    return {"name": name, "key": key, "globalPosition": row["global_position"],
            "checksum": row["checksum"], "state": row["state"]}
