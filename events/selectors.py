"""Reads from the event store: `read_stream`, `read_all` and stream heads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.db import DatabaseError, connection

from .exceptions import StoreUnavailable
from .types import RecordedEvent

MAX_READ_LIMIT = 10_000
# recorded_at is read as text so that no per-row converter runs; it is parsed below.
ROW_COLUMNS = (
    "event_id, stream_id, position, global_position, type, data, metadata, "
    "CAST(recorded_at AS TEXT), prev_hash, hash"
)
_raw_decode = json.JSONDecoder().raw_decode
_fromiso = datetime.fromisoformat


def _loads(text):
    """Decode stored JSON; it is written without surrounding whitespace, so skip that scan."""
    if not isinstance(text, str):
        return text  # already decoded by the driver
    try:
        value, end = _raw_decode(text)
        if end == len(text):
            return value
    except ValueError:
        pass
    return json.loads(text)


def _parse_moment(text) -> datetime:
    moment = text if isinstance(text, datetime) else _fromiso(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def decode_rows(rows) -> list[RecordedEvent]:
    """Build RecordedEvents from rows selected with ROW_COLUMNS."""
    decoded = []
    last_text, last_moment = None, None
    for event_id, stream_id, position, global_position, type_, data, metadata, recorded_at, prev_hash, hash_ in rows:
        # Events of one append share their recorded_at, so consecutive rows mostly repeat it.
        if recorded_at != last_text:
            last_text, last_moment = recorded_at, _parse_moment(recorded_at)
        decoded.append(RecordedEvent(event_id, stream_id, position, global_position, type_,
                                     _loads(data), _loads(metadata), last_moment, prev_hash, hash_))
    return decoded


def decode_row(row) -> RecordedEvent:
    """Build a RecordedEvent from one row selected with ROW_COLUMNS."""
    return decode_rows([row])[0]


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


def read_all(*, after: int = 0, limit: int = 1000, stream_prefix: str | None = None) -> list[RecordedEvent]:
    """Return events of all streams with global position > after, in commit order."""
    _check_window(after, limit)
    if stream_prefix:
        # A range on stream_id instead of LIKE: no wildcard escaping, and the index applies.
        return _fetch(
            f"SELECT {ROW_COLUMNS} FROM events_event WHERE global_position > %s "
            "AND stream_id >= %s AND stream_id < %s ORDER BY global_position LIMIT %s",
            [after, stream_prefix, stream_prefix + "\uffff", limit],
        )
    return _fetch(
        f"SELECT {ROW_COLUMNS} FROM events_event WHERE global_position > %s "
        "ORDER BY global_position LIMIT %s",
        [after, limit],
    )


def stream_version(stream_id: str) -> int:
    """Return the head position of a stream (0 when it does not exist)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM events_stream WHERE id = %s", [stream_id])
        row = cursor.fetchone()
    return row[0] if row else 0


def head_global_position() -> int:
    """Return the highest global position recorded (0 for an empty store)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(global_position), 0) FROM events_event")
        return cursor.fetchone()[0]


def projection_row(name: str, key: str) -> dict | None:
    """Return `{name, key, globalPosition, checksum, state}` of a stored projection key, or None."""
    from .models import Projection

    row = Projection.objects.filter(name=name, key=key).values("state", "global_position", "checksum").first()
    if row is None:
        return None
    return {"name": name, "key": key, "globalPosition": row["global_position"],
            "checksum": row["checksum"], "state": row["state"]}
