"""Writes to the event store: `append` and `append_batch` (DESIGN §3).

Rows are written with batched raw SQL inside one transaction. Writers are serialised so that
global positions commit in order: SQLite's IMMEDIATE transactions hold the database write lock
from BEGIN, and on PostgreSQL a transaction-level advisory lock is taken before anything is read.
Global positions are therefore assigned here, under that lock, as max + 1.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from selfplay.canonical import canonical_json

from .exceptions import (
    EventIdConflict,
    EventStoreError,
    InvalidEvent,
    StoreUnavailable,
    WrongExpectedVersion,
)
from .hashing import chain_hash, envelope_json
from .selectors import ROW_COLUMNS, decode_rows
from .types import (
    ACTOR_RE,
    ANY,
    EVENT_TYPE_RE,
    NO_STREAM,
    STREAM_EXISTS,
    NewEvent,
    RecordedEvent,
    _ExpectedVersion,
    check_stream_id,
    stream_kind,
)

ExpectedVersion = int | _ExpectedVersion

# Any constant works; it names "the event store's global write lock" among advisory locks.
ADVISORY_LOCK_KEY = 0x5E1F_91A7
_IN_CHUNK = 500
_CANONICAL_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


@dataclass(slots=True)
class _Prepared:
    id: str
    type: str
    data: dict[str, Any]
    metadata: dict[str, Any]
    data_json: str
    metadata_json: str
    explicit_id: bool


def append(
    stream_id: str, events: Sequence[NewEvent], *, expected_version: ExpectedVersion = ANY
) -> list[RecordedEvent]:
    """Append events to one stream and return them as recorded."""
    return append_batch([(stream_id, events, expected_version)])


def append_batch(
    items: Iterable[tuple[str, Sequence[NewEvent], ExpectedVersion]], *, fresh_ids: bool = False,
) -> list[RecordedEvent]:
    """Append to several streams in one transaction; all or nothing. Return the recorded events.

    `fresh_ids=True` declares that every explicit event id was just made with uuid4 by the
    caller, so none can be a retry and the idempotency lookup is skipped (the unique index
    still refuses a duplicate).
    """
    prepared = [
        (check_stream_id(stream_id), _prepare_all(events), _check_expected(expected))
        for stream_id, events, expected in items
    ]
    _refuse_duplicate_ids(prepared)
    try:
        with transaction.atomic():
            return _append_prepared(prepared, fresh_ids=fresh_ids)
    except EventStoreError:
        raise
    except IntegrityError as exc:
        if "event_id" in str(exc):
            raise EventIdConflict("(unknown)", f"by a concurrent append: {exc}") from exc
        # Appends are serialised, so a taken position means a stream head out of step with its
        # rows: something wrote behind the store's back. verify_chain names where.
        raise EventStoreError(f"a stream's head does not match its events (run verify_chain): {exc}") from exc
    except OperationalError as exc:
        raise StoreUnavailable(f"the event store could not write: {exc}") from exc
    except DatabaseError as exc:
        raise StoreUnavailable(f"the event store failed: {exc}") from exc


def _check_expected(expected: object) -> ExpectedVersion:
    if isinstance(expected, _ExpectedVersion):
        return expected
    if isinstance(expected, int) and not isinstance(expected, bool) and expected >= 0:
        return expected
    raise ValueError(f"expected_version must be ANY, NO_STREAM, STREAM_EXISTS or an int >= 0, not {expected!r}")


def _prepare_all(events: Sequence[NewEvent]) -> list[_Prepared]:
    if isinstance(events, NewEvent):
        raise InvalidEvent("append takes a list of NewEvent, not a single event")
    return [_prepare(event) for event in events]


def _prepare(event: NewEvent) -> _Prepared:
    if not isinstance(event, NewEvent):
        raise InvalidEvent(f"expected a NewEvent, got {type(event).__name__}")
    if not isinstance(event.type, str) or not EVENT_TYPE_RE.match(event.type) or len(event.type) > 100:
        raise InvalidEvent(f"invalid event type {event.type!r}: expected dotted lowercase like 'agent.spawned'")
    if not isinstance(event.data, dict):
        raise InvalidEvent(f"event data must be a JSON object, got {type(event.data).__name__}")
    metadata = dict(event.metadata or {})
    actor = metadata.setdefault("actor", "system")
    if not isinstance(actor, str) or not ACTOR_RE.match(actor):
        raise InvalidEvent(f"invalid actor {actor!r}: expected agent:<id>, player:<name>, operator:<name> or system")
    try:
        data_json = canonical_json(event.data)
        metadata_json = canonical_json(metadata)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidEvent(f"event {event.type} is not JSON-serialisable: {exc}") from exc
    if event.id is None:
        return _Prepared(str(uuid.uuid4()), event.type, event.data, metadata, data_json, metadata_json, False)
    if isinstance(event.id, str) and _CANONICAL_UUID_RE.match(event.id):
        event_id = event.id
    else:
        try:
            event_id = str(uuid.UUID(str(event.id)))
        except ValueError as exc:
            raise InvalidEvent(f"invalid event id {event.id!r}: expected a UUID") from exc
    return _Prepared(event_id, event.type, event.data, metadata, data_json, metadata_json, True)


def _refuse_duplicate_ids(prepared) -> None:
    seen: set[str] = set()
    for _, events, _ in prepared:
        for event in events:
            if event.explicit_id:
                if event.id in seen:
                    raise InvalidEvent(f"event id {event.id} appears twice in one append")
                seen.add(event.id)


def _append_prepared(prepared, *, fresh_ids: bool = False) -> list[RecordedEvent]:
    cursor = connection.cursor()
    if connection.vendor == "postgresql":
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
    explicit_ids = [] if fresh_ids else [e.id for _, events, _ in prepared for e in events if e.explicit_id]
    existing = _load_existing(cursor, explicit_ids) if explicit_ids else {}
    heads = _load_heads(cursor, {stream_id for stream_id, _, _ in prepared})
    now = timezone.now()
    recorded_at_db = connection.ops.adapt_datetimefield_value(now)
    cursor.execute("SELECT COALESCE(MAX(global_position), 0) FROM events_event")
    next_global = cursor.fetchone()[0] + 1

    recorded: list[RecordedEvent] = []
    rows: list[tuple] = []
    created: dict[str, None] = {}
    for stream_id, events, expected in prepared:
        if any(e.id in existing for e in events):
            recorded.extend(_idempotent_retry(stream_id, events, existing))
            continue
        version, head_hash = heads.get(stream_id, (None, ""))
        _enforce_expected(stream_id, expected, version)
        position = version or 0
        for e in events:
            position += 1
            new_hash = chain_hash(
                head_hash,
                envelope_json(
                    event_id=e.id, stream_id=stream_id, position=position, type=e.type,
                    data_json=e.data_json, metadata_json=e.metadata_json,
                ),
            )
            rows.append((next_global, e.id, stream_id, position, e.type, e.data_json,
                         e.metadata_json, recorded_at_db, head_hash, new_hash))
            recorded.append(RecordedEvent(e.id, stream_id, position, next_global, e.type,
                                          e.data, e.metadata, now, head_hash, new_hash))
            head_hash = new_hash
            next_global += 1
        if version is None and events:
            created[stream_id] = None
        if events:
            heads[stream_id] = (position, head_hash)

    if created:
        cursor.executemany(
            "INSERT INTO events_stream (id, kind, version, head_hash, created_at) VALUES (%s, %s, %s, %s, %s)",
            [(s, stream_kind(s), *heads[s], recorded_at_db) for s in created],
        )
    touched = {r[2] for r in rows} - created.keys()
    if touched:
        cursor.executemany(
            "UPDATE events_stream SET version = %s, head_hash = %s WHERE id = %s",
            [(*heads[s], s) for s in sorted(touched)],
        )
    if rows:
        json_cast = "::jsonb" if connection.vendor == "postgresql" else ""
        cursor.executemany(
            "INSERT INTO events_event (global_position, event_id, stream_id, position, type, data, "
            f"metadata, recorded_at, prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s{json_cast}, "
            f"%s{json_cast}, %s, %s, %s)",
            rows,
        )
    return recorded


def _placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


def _load_heads(cursor, stream_ids: set[str]) -> dict[str, tuple[int, str]]:
    heads: dict[str, tuple[int, str]] = {}
    ids = sorted(stream_ids)
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start:start + _IN_CHUNK]
        cursor.execute(
            f"SELECT id, version, head_hash FROM events_stream WHERE id IN ({_placeholders(len(chunk))})",
            chunk,
        )
        for stream_id, version, head_hash in cursor.fetchall():
            heads[stream_id] = (version, head_hash)
    return heads


def _load_existing(cursor, event_ids: list[str]) -> dict[str, RecordedEvent]:
    found: dict[str, RecordedEvent] = {}
    for start in range(0, len(event_ids), _IN_CHUNK):
        chunk = event_ids[start:start + _IN_CHUNK]
        cursor.execute(
            f"SELECT {ROW_COLUMNS} FROM events_event WHERE event_id IN ({_placeholders(len(chunk))})",
            chunk,
        )
        for event in decode_rows(cursor.fetchall()):
            found[event.id] = event
    return found


def _enforce_expected(stream_id: str, expected: ExpectedVersion, version: int | None) -> None:
    actual = version or 0
    if expected is ANY:
        return
    if expected is NO_STREAM:
        ok = version is None
    elif expected is STREAM_EXISTS:
        ok = version is not None
    else:
        ok = actual == expected
    if not ok:
        raise WrongExpectedVersion(stream_id, expected, actual)


def _idempotent_retry(stream_id: str, events: list[_Prepared], existing: dict[str, RecordedEvent]):
    """Return the recorded events of a retried append, or raise if it is not a faithful retry."""
    recorded = []
    for e in events:
        stored = existing.get(e.id)
        if stored is None:
            raise EventIdConflict(e.id, "in part: a retry must repeat exactly the events of the first append")
        same = (
            stored.stream_id == stream_id
            and stored.type == e.type
            and canonical_json(stored.data) == e.data_json
            and canonical_json(stored.metadata) == e.metadata_json
        )
        if not same:
            raise EventIdConflict(e.id, f"with other content (at {stored.stream_id}#{stored.position})")
        if recorded and stored.position != recorded[-1].position + 1:
            raise EventIdConflict(e.id, "out of order relative to the first append")
        recorded.append(stored)
    return recorded
