"""The state of any stream, derived from that stream's events only.

`world:<r>` is the `world` projection (key r), `agent:<id>` the `agent` projection (key id), and
every other stream the generic `stream` projection (key = the stream id). The projection row is
the live state; events of the stream that the row has not folded yet (appended without
`record()`) are folded on read, so a snapshot always equals a full replay of the stream up to
its head.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models.expressions import RawSQL

from events.models import Projection
from events.projections import get_spec, load_state, lock_writers, reducer_event
from events.selectors import ROW_COLUMNS, decode_rows
from events.store import RecordedEvent, check_stream_id


@dataclass(frozen=True)
class StreamSnapshot:
    """A stream's state after its events 1..position (`global_position` is that event's)."""

    stream_id: str
    position: int
    global_position: int
    state: dict


def projection_of(stream_id: str) -> tuple[str, str]:
    """Return the (projection name, key) that holds a stream's state."""
    kind, _, name = check_stream_id(stream_id).partition(":")
    if kind == "world":
        return "world", name
    if kind == "agent":
        return "agent", name
    return "stream", stream_id


def agent_of(stream_id: str) -> str | None:
    """Return the agent id of an `agent:<id>` stream, None for other kinds."""
    kind, _, name = check_stream_id(stream_id).partition(":")
    return name if kind == "agent" else None


def initial_state(stream_id: str) -> dict:
    """Return a stream's state before its first event."""
    name, key = projection_of(stream_id)
    return get_spec(name).initial(key)


def replay_stream(stream_id: str, state: dict, events: Iterable[RecordedEvent | dict]) -> dict:
    """Fold a stream's events (recorded or wire-shaped, in order) into its state; return the new state."""
    name, _ = projection_of(stream_id)
    folded = []
    for event in events:
        shaped = reducer_event(event) if isinstance(event, RecordedEvent) else event
        if shaped.get("streamId") != stream_id:
            raise ValueError(f"event of {shaped.get('streamId')!r} cannot be replayed into {stream_id!r}")
        folded.append(shaped)
    return get_spec(name).fold(state, folded)


@transaction.atomic
def stream_state(stream_id: str) -> tuple[dict, int]:
    """Return (state, stream position) of a stream, read consistently in the current transaction."""
    lock_writers()
    snapshot = snapshots([stream_id]).get(stream_id)
    if snapshot is None:
        return initial_state(stream_id), 0
    return snapshot.state, snapshot.position


def snapshots(stream_ids: Sequence[str]) -> dict[str, StreamSnapshot]:
    """Return the snapshot of each existing stream among `stream_ids`, with a few queries in all.

    Call while holding the event store's write lock (inside `record()`'s transaction, or after
    `lock_writers()`), so that heads and projection rows describe the same moment.
    """
    heads = _heads(stream_ids)
    by_projection: dict[str, dict[str, str]] = {}
    for stream_id in heads:
        name, key = projection_of(stream_id)
        by_projection.setdefault(name, {})[key] = stream_id
    result = {}
    for name, streams in by_projection.items():
        for key, (state, folded_to) in _projection_states(name, list(streams)).items():
            stream_id = streams[key]
            position, global_position = heads[stream_id]
            if global_position > folded_to:
                state = replay_stream(stream_id, state, _events_after(stream_id, folded_to))
            result[stream_id] = StreamSnapshot(stream_id, position, global_position, state)
    return result


def values_subquery(values: Iterable[str]) -> RawSQL:
    """Return a one-parameter subquery yielding `values`, for `field__in=` with any number of them."""
    text = json.dumps(list(values))
    if connection.vendor == "postgresql":
        return RawSQL("SELECT jsonb_array_elements_text(%s::jsonb)", [text])
    return RawSQL("SELECT value FROM json_each(%s)", [text])


def _heads(stream_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Return {stream id: (version, global position of its last event)} of existing streams."""
    subquery = values_subquery(stream_ids)
    sql, params = subquery.sql, subquery.params
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.id, s.version, e.global_position FROM events_stream s "
            "JOIN events_event e ON e.stream_id = s.id AND e.position = s.version "
            f"WHERE s.id IN ({sql})", params)
        return {stream_id: (version, global_position) for stream_id, version, global_position in cursor}


def _projection_states(name: str, keys: list[str]) -> dict[str, tuple[dict, int]]:
    """Return {key: (state, global position folded)} for keys of one projection."""
    spec = get_spec(name)
    if len(keys) == 1 or name == "world":
        # load_state reuses the runner's decoded state: a world state runs to megabytes.
        return {key: load_state(name, key) for key in keys}
    rows = Projection.objects.filter(name=name, key__in=values_subquery(keys)).values_list(
        "key", "state", "global_position")
    found = {key: (state, position) for key, state, position in rows}
    return {key: found.get(key) or (spec.initial(key), 0) for key in keys}


def _events_after(stream_id: str, global_position: int) -> list[RecordedEvent]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {ROW_COLUMNS} FROM events_event WHERE stream_id = %s AND global_position > %s "
            "ORDER BY position", [stream_id, global_position])
        return decode_rows(cursor.fetchall())
