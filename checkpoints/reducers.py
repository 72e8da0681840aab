"""The generic state of a `system:*` or `verification:*` stream: a pure, total reducer.

It counts the stream's events by type; it imports no Django, and like every projection state
it never depends on wall time or event ids.
"""

from __future__ import annotations

from collections.abc import Iterable


def initial_state(stream_id: str) -> dict:
    """Return the state of a stream before any event."""
    return {"streamId": stream_id, "events": 0, "lastType": None, "types": {}}


def fold(state: dict, events: Iterable[dict]) -> dict:
    """Return the state after `events`, leaving the input untouched."""
    work = None
    for event in events:
        if work is None:
            work = {**state, "types": dict(state["types"])}
        kind = event.get("type")
        work["events"] += 1
        work["lastType"] = kind
        work["types"][kind] = work["types"].get(kind, 0) + 1
    return state if work is None else work


def apply(state: dict, event: dict) -> dict:
    """Return the state after one event, leaving the input untouched."""
    return fold(state, [event])
