"""The state of any stream, derived from that stream's events only.

`world:<r>` is the `world` projection (key r), `agent:<id>` the `agent_stream` projection (key
id), and every other stream the generic `stream` projection (key = the stream id). The
projection row is the live state, so a snapshot always equals a full replay of the stream up to
its head (tests/checkpoints/test_equivalence.py proves it for every kind of stream).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction

from events.projections import get_spec, load_states, lock_writers, reducer_event
from events.selectors import stream_heads
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
        return "agent_stream", name
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
    `lock_writers()`), so that heads and projection rows describe the same moment. Every event
    is recorded through `record()`, which folds it before anything else can read, so a
    projection row is always its stream's state at the head. (A row whose position is below the
    head's is not behind: its projection reads only some event types, and the rest change nothing.)
    """
    heads = stream_heads(stream_ids)
    keys = {stream_id: projection_of(stream_id) for stream_id in heads}
    states = load_states(keys.values(), shared=True)
    return {stream_id: StreamSnapshot(stream_id, heads[stream_id][0], heads[stream_id][1], states[key][0])
            for stream_id, key in keys.items()}
