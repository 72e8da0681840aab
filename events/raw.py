"""The raw append under `events.store.record` — private to `events`.

It writes rows and nothing else: no projection, no hook, no publishing. Everything outside this
package records through `events.store.record`; only the store's own tests call this directly.

Rows are written with batched raw SQL inside one transaction. Writers of one stream are
serialised (events.backends: SQLite's IMMEDIATE transactions hold the database write lock from
BEGIN; PostgreSQL locks each stream's head row, a placeholder row for a new stream, before
anything is read).
Global positions are taken last, from the backend: max + 1 under SQLite's one writer, a short
reservation on PostgreSQL that readers stay below until it commits (docs/parallel-appends.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from selfplay.canonical import canonical_json, plain_json_text, portable, storable, strict_json_text
from selfplay.gc_pause import paused_gc

from . import backends
from .exceptions import (
    EventIdConflict,
    EventStoreError,
    InvalidEvent,
    StoreUnavailable,
    WrongExpectedVersion,
)
from .hashing import plain_event_hash
from .ids import new_event_ids
from .selectors import ROW_COLUMNS, decode_rows
from .types import (
    ANY,
    CANONICAL_UUID_RE,
    NO_STREAM,
    STREAM_EXISTS,
    NewEvent,
    RecordedEvent,
    _ExpectedVersion,
    check_stream_id,
    stream_kind,
    valid_actor,
    valid_event_type,
)

ExpectedVersion = int | _ExpectedVersion


@dataclass(slots=True)
class _Prepared:
    id: str
    type: str
    data: dict[str, Any]
    metadata: dict[str, Any]
    data_json: str
    metadata_json: str
    explicit_id: bool
    tick: int | None  # metadata's tick, when a whole number a column can hold (the admin's filter)


def append(
    stream_id: str, events: Sequence[NewEvent], *, expected_version: ExpectedVersion = ANY,
    now: datetime | None = None,
) -> list[RecordedEvent]:
    """Append events to one stream and return them as recorded."""
    return append_batch([(stream_id, events, expected_version)], now=now)


def append_batch(
    items: Iterable[tuple[str, Sequence[NewEvent], ExpectedVersion]], *, fresh_ids: bool = False,
    now: datetime | None = None, before_positions: Callable[[list[RecordedEvent]], None] | None = None,
) -> list[RecordedEvent]:
    """Append to several streams in one transaction; all or nothing. Return the recorded events.

    `fresh_ids=True` declares that every explicit event id was just made (events.ids) by the
    caller, so none can be a retry and the idempotency lookup is skipped (the unique index
    still refuses a duplicate). `before_positions(events)` runs once the streams are locked and
    just before global positions are taken, with the new events numbered 0, unless the append
    runs alone (SQLite's one writer): events.services locks the projection keys they touch there.
    """
    with paused_gc():  # thousands of acyclic rows, texts and events: see selfplay.gc_pause
        return _append_batch(items, fresh_ids=fresh_ids, now=now or timezone.now(),
                             before_positions=before_positions)


def _append_batch(items, *, fresh_ids: bool, now: datetime, before_positions) -> list[RecordedEvent]:
    prepared = [
        (check_stream_id(stream_id), _prepare_all(events), _check_expected(expected))
        for stream_id, events, expected in items
    ]
    _name_unnamed(prepared, now)
    _refuse_duplicate_ids(prepared)
    try:
        with transaction.atomic():
            return _append_prepared(prepared, fresh_ids=fresh_ids, now=now, before_positions=before_positions)
    except EventStoreError:
        raise
    except IntegrityError as exc:
        if "no partition of relation" in str(exc):
            raise StoreUnavailable(
                "the event log has no partition for the next global positions: run "
                "`manage.py event_partitions --ensure` (beat and appends make them ahead; "
                f"docs/partitioning.md): {exc}") from exc
        if "event_id" in str(exc):
            raise EventIdConflict("(unknown)", f"by a concurrent append: {exc}") from exc
        # Appends to a stream are serialised, so a taken position means a stream head out of step
        # with its rows: something wrote behind the store's back. verify_chain names where.
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


def _name_unnamed(prepared, now: datetime) -> None:
    """Give every event without an id a fresh one: one batch for the whole append."""
    unnamed = [p for _, events, _ in prepared for p in events if not p.id]
    for p, event_id in zip(unnamed, new_event_ids(len(unnamed), now), strict=True):
        p.id = event_id


def _prepare(event: NewEvent) -> _Prepared:
    if not isinstance(event, NewEvent):
        raise InvalidEvent(f"expected a NewEvent, got {type(event).__name__}")
    if not valid_event_type(event.type):
        raise InvalidEvent(f"invalid event type {event.type!r}: expected dotted lowercase like 'agent.spawned'")
    if not isinstance(event.data, dict):
        raise InvalidEvent(f"event data must be a JSON object, got {type(event.data).__name__}")
    metadata = dict(event.metadata or {})
    actor = metadata.setdefault("actor", "system")
    if not valid_actor(actor):
        raise InvalidEvent(f"invalid actor {actor!r}: expected agent:<id>, player:<name>, operator:<name> or system")
    data, data_json, metadata_json = event.data, plain_json_text(event.data), plain_json_text(metadata)
    if data_json is None or metadata_json is None:
        data, data_json, metadata, metadata_json = _encode_with_checks(event.type, data, metadata)
    tick = metadata.get("tick")
    if type(tick) is not int:  # (a stored whole number fits in 64 bits: storable())
        tick = None
    if event.id is None:
        return _Prepared("", event.type, data, metadata, data_json, metadata_json, False, tick)  # id given below
    if isinstance(event.id, str) and CANONICAL_UUID_RE.match(event.id):
        event_id = event.id
    else:
        try:
            event_id = str(uuid.UUID(str(event.id)))
        except ValueError as exc:
            raise InvalidEvent(f"invalid event id {event.id!r}: expected a UUID") from exc
    return _Prepared(event_id, event.type, data, metadata, data_json, metadata_json, True, tick)


def _encode_with_checks(type_: str, data: dict, metadata: dict) -> tuple[dict, str, dict, str]:
    """Return (data, its text, metadata, its text) of values that are not plain (plain_json_text):
    numbers written as both backends give them back, or InvalidEvent for what cannot be stored."""
    try:
        data, data_json = portable(data, strict_json_text(data))
        metadata, metadata_json = portable(metadata, strict_json_text(metadata))
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidEvent(f"event {type_} is not JSON-serialisable: {exc}") from exc
    # One check of both texts (the separator keeps a digit run or an escape from spanning them).
    if not storable((data, metadata), data_json + "," + metadata_json):
        raise InvalidEvent(f"event {type_} holds a value that cannot be stored (NUL, an unpaired surrogate or a whole number beyond 64 bits)")
    return data, data_json, metadata, metadata_json


def _refuse_duplicate_ids(prepared) -> None:
    seen: set[str] = set()
    for _, events, _ in prepared:
        for event in events:
            if event.explicit_id:
                if event.id in seen:
                    raise InvalidEvent(f"event id {event.id} appears twice in one append")
                seen.add(event.id)


def _append_prepared(prepared, *, fresh_ids: bool, now: datetime,
                     before_positions: Callable[[list[RecordedEvent]], None] | None) -> list[RecordedEvent]:
    cursor = connection.cursor()
    backend = backends.current()
    # Only streams that get events: a lock of a new stream is a placeholder row that the append
    # must then fill (an empty item only checks its expected version).
    locked = {stream_id for stream_id, events, _ in prepared if events}
    alone = backend.lock_streams(cursor, locked)
    explicit_ids = [] if fresh_ids else [e.id for _, events, _ in prepared for e in events if e.explicit_id]
    existing = _load_existing(cursor, explicit_ids) if explicit_ids else {}
    heads = _load_heads(cursor, {stream_id for stream_id, _, _ in prepared})
    recorded_at_db = connection.ops.adapt_datetimefield_value(now)

    # Everything but the global positions first: those are taken last, once the streams (and,
    # through `before_positions`, the projection keys) are held, so that they follow that order.
    retried: dict[int, list[RecordedEvent]] = {}  # by the number of new rows before them
    rows: list[list] = []
    sources: list[_Prepared] = []  # the event of each row
    created: dict[str, None] = {}
    for stream_id, events, expected in prepared:
        if existing and any(e.id in existing for e in events):
            retried.setdefault(len(rows), []).extend(_idempotent_retry(stream_id, events, existing))
            continue
        version, head_hash = heads.get(stream_id, (None, ""))
        _enforce_expected(stream_id, expected, version)
        position = version or 0
        for e in events:
            position += 1
            # The id, stream id and type were checked against patterns JSON never escapes.
            new_hash = plain_event_hash(head_hash, e.id, stream_id, position, e.type, e.data_json, e.metadata_json)
            rows.append([0, e.id, stream_id, position, e.type, e.data_json,
                         e.metadata_json, recorded_at_db, head_hash, new_hash, e.metadata["actor"], e.tick])
            head_hash = new_hash
        sources += events
        if version is None and events:
            created[stream_id] = None
        if events:
            heads[stream_id] = (position, head_hash)
    if locked - heads.keys():  # pragma: no cover - a placeholder head must never commit
        raise RuntimeError(f"streams locked but neither found nor appended to: {sorted(locked - heads.keys())}")
    if not rows:
        return [event for events in retried.values() for event in events]

    if before_positions is not None and not alone:
        before_positions([RecordedEvent(e.id, row[2], row[3], 0, e.type, e.data, e.metadata, now, row[8], row[9])
                          for row, e in zip(rows, sources, strict=True)])
    first = backend.reserve_global_positions(cursor, len(rows))
    recorded = []
    for n, (row, e) in enumerate(zip(rows, sources, strict=True)):
        if retried and n in retried:
            recorded += retried.pop(n)
        row[0] = first + n
        recorded.append(RecordedEvent(e.id, row[2], row[3], row[0], e.type, e.data, e.metadata, now, row[8], row[9]))
    for events in retried.values():  # retries after the last new row
        recorded += events

    if created:
        # A new stream's row may be this transaction's lock placeholder (lock_streams): replace it.
        cursor.executemany(
            "INSERT INTO events_stream (id, kind, version, head_hash, created_at) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET version = excluded.version, head_hash = excluded.head_hash, "
            "created_at = excluded.created_at",
            [(s, stream_kind(s), *heads[s], recorded_at_db) for s in created],
        )
    touched = {r[2] for r in rows} - created.keys()
    if touched:
        cursor.executemany(
            "UPDATE events_stream SET version = %s, head_hash = %s WHERE id = %s",
            [(*heads[s], s) for s in sorted(touched)],
        )
    json_cast = backend.json_cast
    cursor.executemany(
        "INSERT INTO events_event (global_position, event_id, stream_id, position, type, data, "
        f"metadata, recorded_at, prev_hash, hash, actor, tick) VALUES (%s, %s, %s, %s, %s, %s{json_cast}, "
        f"%s{json_cast}, %s, %s, %s, %s, %s)",
        backend.stored_rows(rows),
    )
    backend.claim_event_ids(cursor, [row[1] for row in rows])
    return recorded


def _load_heads(cursor, stream_ids: set[str]) -> dict[str, tuple[int, str]]:
    sql, params = backends.current().values_table(sorted(stream_ids))
    # Version 0 is a lock placeholder of this very transaction (lock_streams): no stream yet.
    cursor.execute(f"SELECT id, version, head_hash FROM events_stream WHERE id IN ({sql}) AND version > 0", params)
    return {stream_id: (version, head_hash) for stream_id, version, head_hash in cursor.fetchall()}


def _load_existing(cursor, event_ids: list[str]) -> dict[str, RecordedEvent]:
    backend, existing = backends.current(), {}
    for start in range(0, len(event_ids), 500):  # SQLite takes each id as a parameter of its own
        sql, params = backend.stored_event_ids(event_ids[start:start + 500])
        cursor.execute(f"SELECT {ROW_COLUMNS} FROM events_event WHERE event_id IN ({sql})", params)
        existing.update((event.id, event) for event in decode_rows(cursor.fetchall()))
    return existing


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
