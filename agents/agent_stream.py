"""The state of one agent's stream (`agent:<id>`): a pure, total reducer. Imports no Django.

It folds only that stream's events, so a checkpoint of the stream at position P plus the events
after P rebuilds it exactly. `event` is a wire-shaped dict with at least "type" and "data"
(camelCase, as stored); "metadata" is read when present. Every event is counted, an event type
the reducer does not know changes nothing else, and the state never depends on wall time, event
ids or positions, so its checksum is comparable across replicas.
"""

from __future__ import annotations

from collections.abc import Iterable

DECISION = "agent.action.submitted"
PLAN = "agent.plan.updated"
PAUSED = "agent.paused"
RESUMED = "agent.resumed"
OVERRIDE = "player.override.submitted"
EXTERNAL_DECISION = "agent.decision.submitted"


def initial_state(agent_id: str) -> dict:
    """Return the state of `agent:<agent_id>` before any event."""
    return {
        "agentId": agent_id, "events": 0, "status": "active", "lastTick": None, "lastAction": None,
        "lastSource": None, "plan": None, "decisions": 0, "sources": {}, "brainErrors": 0,
        "externalDecisions": 0, "overrides": 0, "lastOverride": None,
    }


def _apply_in_place(state: dict, event: dict) -> None:
    kind = event.get("type")
    data = event.get("data") or {}
    state["events"] += 1
    if kind == DECISION:
        source = data.get("source") if isinstance(data.get("source"), str) else "unknown"
        state["decisions"] += 1
        state["lastTick"] = data.get("tick")
        state["lastAction"] = data.get("action")
        state["lastSource"] = source
        state["sources"][source] = state["sources"].get(source, 0) + 1
        if data.get("brainError"):
            state["brainErrors"] += 1
    elif kind == PLAN:
        state["plan"] = data.get("plan")
    elif kind in (PAUSED, RESUMED):
        state["status"] = "paused" if kind == PAUSED else "active"
    elif kind == OVERRIDE:
        state["overrides"] += 1
        state["lastOverride"] = {
            "action": data.get("action"), "reason": data.get("reason"),
            "appliesAtTick": data.get("appliesAtTick"),
            "actor": (event.get("metadata") or {}).get("actor"),
        }
    elif kind == EXTERNAL_DECISION:
        state["externalDecisions"] += 1


def _thaw(state: dict) -> dict:
    # Only "sources" is written in place; every other value is replaced whole.
    return {**state, "sources": dict(state["sources"])}


def apply(state: dict, event: dict) -> dict:
    """Return the state after one event, leaving the input untouched."""
    work = _thaw(state)
    _apply_in_place(work, event)
    return work


def fold(state: dict, events: Iterable[dict]) -> dict:
    """Return the state after `events` (equal to `apply` event by event), copying the input once."""
    work = None
    for event in events:
        if work is None:
            work = _thaw(state)
        _apply_in_place(work, event)
    return state if work is None else work
