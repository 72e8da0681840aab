"""Projections of the event log: `world`, `agents` and `leaderboard`.

Each projection is a pure, total reducer `apply_<name>(state, event) -> state`: it never
mutates its input, and an event type it does not know returns the state unchanged. `event` is a
wire-shaped dict with at least "type" and "data" (camelCase, as stored).

A tick folds about two events per agent, and copying a 10,000-agent state per event would cost
far more than the rules themselves. `fold(name, state, events)` therefore copies the state
once, applies every event to that private copy in place, and returns it: the result equals
applying `apply_<name>` event by event. An event list with nothing for the projection returns
the input state itself.

States are values: a new state may share unchanged parts with the state it came from, so
never write into a state in place; fold or apply to get a new one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache

from selfplay.canonical import checksum

from . import ledger
from .rules import CAPACITY, REGROW_EVERY, RESOURCES, START_ENERGY, TERRAIN_OF_RESOURCE

OUTCOME_TYPES = frozenset({"agent.action.succeeded", "agent.action.failed"})
# An operator's change of an agent's configuration: which field of its entry it sets.
_CHANGED_FIELD = {"agent.owner.changed": "owner", "agent.brain.changed": "brain"}


# --- world -------------------------------------------------------------------------------


# A thaw copies every container its reducer writes into and shares the rest: values the
# reducers only ever replace whole (a structure entry, an agent's lastAction, the terrain
# string) are never written in place, so sharing them with the input cannot leak a change.
# It is several times cheaper than a deep copy of a 10,000-agent state.


def _world_thaw(state: dict) -> dict:
    work = dict(state)
    work["tiles"] = {**state["tiles"], "amounts": list(state["tiles"]["amounts"])}
    work["agents"] = {
        aid: {**agent, "inventory": dict(agent["inventory"])} for aid, agent in state["agents"].items()
    }
    work["structures"] = dict(state["structures"])
    return work


@lru_cache(maxsize=8)
def _regrowth_schedule(terrain: str) -> dict[str, list[list[int]]]:
    """Return, per resource, its tile indexes grouped by index modulo its regrowth period."""
    schedule = {}
    for resource in RESOURCES:
        period, code = REGROW_EVERY[resource], TERRAIN_OF_RESOURCE[resource]
        groups: list[list[int]] = [[] for _ in range(period)]
        for i, c in enumerate(terrain):
            if c == code:
                groups[i % period].append(i)
        schedule[resource] = groups
    return schedule


def _regrow(amounts: list[int], terrain: str, tick: int) -> None:
    """Grow back one unit on each depleted tile whose turn comes at this tick."""
    for resource, groups in _regrowth_schedule(terrain).items():
        period, cap = REGROW_EVERY[resource], CAPACITY[resource]
        # A tile i grows at ticks where (tick + i) is a multiple of the period.
        for i in groups[-tick % period]:
            if amounts[i] < cap:
                amounts[i] += 1


def _apply_outcome(state: dict, data: dict) -> None:
    agents = state["agents"]
    agent = agents.get(data["agentId"])
    if agent is None:
        return
    effects = data["effects"]
    if "energy" in effects:
        agent["energy"] = effects["energy"]
    if "x" in effects:
        agent["x"], agent["y"] = effects["x"], effects["y"]
    if "inventory" in effects:
        inventory = agent["inventory"]
        for resource, delta in effects["inventory"].items():
            inventory[resource] = inventory.get(resource, 0) + delta
    if "score" in effects:
        agent["score"] += effects["score"]
    if "tile" in effects:
        tile = effects["tile"]
        state["tiles"]["amounts"][tile["y"] * state["width"] + tile["x"]] += tile["delta"]
    if "structure" in effects:
        built = effects["structure"]
        state["structures"][f"{built['x']},{built['y']}"] = {
            "type": built["type"], "owner": data["agentId"], "tick": data["tick"],
        }
    if "transfer" in effects:
        transfer = effects["transfer"]
        recipient = agents.get(transfer["to"])
        if recipient is not None:
            inventory = recipient["inventory"]
            inventory[transfer["resource"]] = inventory.get(transfer["resource"], 0) + transfer["amount"]


def _world_in_place(state: dict, event: dict) -> dict:
    kind, data = event["type"], event.get("data") or {}
    if kind in OUTCOME_TYPES:
        _apply_outcome(state, data)
    elif kind == "world.tick.completed":
        # Regrow once per tick even if a completion is replayed twice.
        if data["tick"] > state["tick"]:
            _regrow(state["tiles"]["amounts"], state["tiles"]["terrain"], data["tick"])
            state["tick"] = data["tick"]
    elif kind == "world.ticks.skipped":
        # The world slept through these ticks: nothing regrew, only the clock moves on.
        state["tick"] = max(state["tick"], data["toTick"])
    elif kind == "agent.spawned":
        if data["region"] == state["region"] and data["agentId"] not in state["agents"]:
            state["agents"][data["agentId"]] = {
                "name": data["name"], "brain": data["brain"], "owner": data.get("owner"),
                "x": data["x"], "y": data["y"], "energy": START_ENERGY,
                "inventory": dict.fromkeys(RESOURCES, 0), "score": 0, "status": "active",
            }
    elif kind in ("agent.paused", "agent.resumed"):
        agent = state["agents"].get(data["agentId"])
        if agent is not None:
            agent["status"] = "paused" if kind == "agent.paused" else "active"
    elif kind in _CHANGED_FIELD:
        agent = state["agents"].get(data["agentId"])
        if agent is not None:
            agent[_CHANGED_FIELD[kind]] = data[_CHANGED_FIELD[kind]]
    elif kind == "world.created":
        if state["seed"] is None and data["region"] == state["region"]:
            state.update(
                seed=data["seed"], width=data["width"], height=data["height"],
                rulesVersion=data["rulesVersion"],
                tiles={"terrain": data["tiles"]["terrain"], "amounts": list(data["tiles"]["amounts"])},
            )
    return state


_WORLD_TYPES = OUTCOME_TYPES | {
    "world.created", "world.tick.completed", "world.ticks.skipped",
    "agent.spawned", "agent.paused", "agent.resumed", "agent.owner.changed", "agent.brain.changed",
}


# --- agents ------------------------------------------------------------------------------


def _agents_in_place(state: dict, event: dict) -> dict:
    kind, data = event["type"], event.get("data") or {}
    agents = state["agents"]
    if kind == "agent.action.submitted":
        # The decision comes just before its outcome: remember where it came from (a brain, an
        # external agent, or an override and the reason its sender gave).
        entry = agents.get(str(event.get("streamId", "")).partition(":")[2])
        if entry is not None:
            entry["lastDecision"] = {"tick": data.get("tick"), "source": data.get("source"),
                                     "overrideReason": data.get("reason")}
    elif kind in OUTCOME_TYPES:
        entry = agents.get(data["agentId"])
        if entry is not None:
            effects = data["effects"]
            decision = entry.pop("lastDecision", None)
            if decision is None or decision["tick"] != data["tick"]:
                decision = {"source": None, "overrideReason": None}
            entry["lastTick"] = data["tick"]
            entry["lastAction"] = {"action": dict(data["action"]), "reason": data["reason"],
                                   "source": decision["source"], "overrideReason": decision["overrideReason"]}
            if "energy" in effects:
                entry["energy"] = effects["energy"]
            entry["score"] += effects.get("score", 0)
    elif kind == "agent.spawned":
        if data["agentId"] not in agents:
            agents[data["agentId"]] = {
                "region": data["region"], "owner": data.get("owner"), "status": "active",
                "brain": data["brain"], "name": data["name"], "lastTick": None,
                "lastAction": None, "energy": START_ENERGY, "score": 0,
            }
    elif kind in ("agent.paused", "agent.resumed"):
        entry = agents.get(data["agentId"])
        if entry is not None:
            entry["status"] = "paused" if kind == "agent.paused" else "active"
    elif kind in _CHANGED_FIELD:
        entry = agents.get(data["agentId"])
        if entry is not None:
            entry[_CHANGED_FIELD[kind]] = data[_CHANGED_FIELD[kind]]
    elif kind == "agent.plan.updated":
        # Plans live in agent streams, whose ids carry the agent: "agent:<id>".
        agent_id = data.get("agentId") or str(event.get("streamId", "")).partition(":")[2]
        entry = agents.get(agent_id)
        if entry is not None:
            entry["plan"] = data.get("plan")
    elif kind in ledger.TYPES:
        entry = agents.get(data.get("agentId"))
        if entry is not None:
            entry["capabilities"] = ledger.apply(entry.get("capabilities"), kind, data)
    return state


_AGENTS_TYPES = OUTCOME_TYPES | ledger.TYPES | {
    "agent.spawned", "agent.paused", "agent.resumed", "agent.plan.updated", "agent.action.submitted",
    *_CHANGED_FIELD}


def _agents_thaw(state: dict) -> dict:
    return {**state, "agents": {aid: dict(entry) for aid, entry in state["agents"].items()}}


# --- leaderboard -------------------------------------------------------------------------
# Worked on as {agentId: entry} and stored as a list sorted by score desc, then agentId.


def _leaderboard_thaw(state: dict) -> dict:
    return {entry["agentId"]: dict(entry) for entry in state["entries"]}


def _leaderboard_freeze(work: dict) -> dict:
    return {"entries": sorted(work.values(), key=lambda e: (-e["score"], e["agentId"]))}


def _leaderboard_in_place(work: dict, event: dict) -> dict:
    kind, data = event["type"], event.get("data") or {}
    if kind in OUTCOME_TYPES:
        entry = work.get(data["agentId"])
        if entry is not None:
            effects = data["effects"]
            entry["score"] += effects.get("score", 0)
            if "structure" in effects:
                entry["built"] += 1
            if "tile" in effects:
                entry["gathered"] -= effects["tile"]["delta"]
    elif kind == "agent.spawned" and data["agentId"] not in work:
        work[data["agentId"]] = {"agentId": data["agentId"], "score": 0, "built": 0, "gathered": 0}
    return work


_LEADERBOARD_TYPES = OUTCOME_TYPES | {"agent.spawned"}


# --- the public surface ------------------------------------------------------------------

# A wire-shaped event dict, or a (type, data) pair as `evaluate_tick` returns them.
Event = dict | tuple[str, dict]


def _as_event(event: Event) -> dict:
    if isinstance(event, tuple):
        return {"type": event[0], "data": event[1]}
    return event



class _Projection:
    def __init__(self, name, initial, in_place, types, thaw, freeze=lambda work: work):
        self.name, self.initial, self.in_place, self.types = name, initial, in_place, types
        self.thaw, self.freeze = thaw, freeze

    def apply(self, state: dict, event: Event) -> dict:
        event = _as_event(event)
        if event.get("type") not in self.types:
            return state
        return self.freeze(self.in_place(self.thaw(state), event))

    def fold(self, state: dict, events: Iterable[Event]) -> dict:
        work = None
        for event in events:
            event = _as_event(event)
            if event.get("type") in self.types:
                if work is None:
                    work = self.thaw(state)
                self.in_place(work, event)
        return state if work is None else self.freeze(work)


def _initial_world(key: str) -> dict:
    return {
        "region": key, "seed": None, "rulesVersion": None, "tick": 0, "width": 0, "height": 0,
        "tiles": {"terrain": "", "amounts": []}, "agents": {}, "structures": {},
    }


PROJECTIONS = {
    "world": _Projection("world", _initial_world, _world_in_place, _WORLD_TYPES, _world_thaw),
    "agents": _Projection(
        "agents", lambda key: {"agents": {}}, _agents_in_place, _AGENTS_TYPES, _agents_thaw
    ),
    "leaderboard": _Projection(
        "leaderboard", lambda key: {"entries": []}, _leaderboard_in_place, _LEADERBOARD_TYPES,
        thaw=_leaderboard_thaw, freeze=_leaderboard_freeze,
    ),
}


def initial_state(name: str, key: str) -> dict:
    """Return the state of projection `name` for `key` before any event."""
    if name not in PROJECTIONS:
        raise ValueError(f"unknown projection {name!r}; expected one of {', '.join(PROJECTIONS)}")
    return PROJECTIONS[name].initial(key)


def apply_world(state: dict, event: Event) -> dict:
    """Return the world state (key = region) after one event."""
    return PROJECTIONS["world"].apply(state, event)


def apply_agents(state: dict, event: Event) -> dict:
    """Return the agents state after one event."""
    return PROJECTIONS["agents"].apply(state, event)


def apply_leaderboard(state: dict, event: Event) -> dict:
    """Return the leaderboard state after one event."""
    return PROJECTIONS["leaderboard"].apply(state, event)


_BY_REDUCER = {apply_world: "world", apply_agents: "agents", apply_leaderboard: "leaderboard"}

Reducer = Callable[[dict, dict], dict]


def fold(reducer: str | Reducer, state: dict, events: Iterable[Event]) -> dict:
    """Return the state after events, copying the input state once (never mutating it).

    `reducer` is a projection name ("world", "agents", "leaderboard") or its `apply_*`
    function; any other pure reducer is applied event by event.
    """
    name = reducer if isinstance(reducer, str) else _BY_REDUCER.get(reducer)
    if isinstance(reducer, str) and name not in PROJECTIONS:
        raise ValueError(f"unknown projection {reducer!r}; expected one of {', '.join(PROJECTIONS)}")
    if name is None:
        for event in events:
            state = reducer(state, _as_event(event))
        return state
    return PROJECTIONS[name].fold(state, events)


def world_checksum(state: dict) -> str:
    """Return the checksum of a world state: sha256 of its canonical JSON."""
    return checksum(state)


def end_tick(state: dict, *, tick: int) -> dict:
    """Return the world state after `world.tick.completed` for tick (regrowth, clock)."""
    return apply_world(state, {"type": "world.tick.completed", "data": {"tick": tick}})


def close_tick(
    state: dict, outcomes: Iterable[Event], *, tick: int, duration_ms: int
) -> tuple[dict, dict]:
    """Return (data of `world.tick.completed`, world state after the outcomes and it).

    Folds the tick's outcome events and the completion with a single copy of the state. The
    checksum is that of the returned state, so any replica that applies the same events can
    compare its own checksum with the recorded one.
    """
    world = PROJECTIONS["world"]
    after = world.fold(state, [*outcomes, ("world.tick.completed", {"tick": tick})])
    active = sum(1 for agent in after["agents"].values() if agent["status"] == "active")
    data = {"tick": tick, "checksum": world_checksum(after), "agents": active, "durationMs": duration_ms}
    return data, after
