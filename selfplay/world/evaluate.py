"""Evaluate one tick: every agent's decision against the world as it stood before the tick.

Agents act one after another in an order shuffled from the tick's seed, each seeing what the
agents before it did (a tile vacated, a bush stripped, a gift received). That order is the only
randomness, so the same state, decisions and seed give byte-identical outcomes, whatever order
the decisions dict happens to iterate in.

Each outcome's `effects` says exactly what changed, so the reducers never re-run a rule:

    energy      the agent's energy after the tick (absolute; always present for an agent that acted)
    x, y        the agent's new position (move)
    inventory   {resource: delta} of the agent's own inventory
    score       score delta
    tile        {x, y, resource, delta} a tile's amount change (gather)
    structure   {x, y, type} built on the agent's tile, owned by the agent
    transfer    {to, resource, amount} added to another agent's inventory (give)
    said        the text said
    capability  the capability a `use` action asks for (rules version 3); the request itself is
                the agents layer's (`capability.requested`), the world only lets it through

A failed action has only `energy` (the tick's decay still applies), except for decisions of
paused or unknown agents, whose effects are empty.
"""

from __future__ import annotations

import json
import random

from selfplay.canonical import canonical_json

from .actions import InvalidAction, validate_action
from .rules import (
    ACTION_COST,
    ALLOWED_WHEN_EXHAUSTED,
    EDIBLE,
    ENERGY_DECAY,
    INVENTORY_LIMIT,
    MAX_ENERGY,
    MAX_STRUCTURES_PER_AGENT,
    RESOURCE_OF_TERRAIN,
    REST_GAIN,
    SCORE_GATHER,
    SCORE_GIVE,
    STRUCTURES,
    USE_MIN_RULES_VERSION,
    WATER,
)
from .seeds import shuffled

SUCCEEDED = "agent.action.succeeded"
FAILED = "agent.action.failed"


class _Failed(Exception):
    """Abort one action with a reason; the agent pays only the tick's decay."""

    def __init__(self, reason: str):
        self.reason = reason


class _Tick:
    """The world as it changes while agents act in turn; the input state is never touched."""

    def __init__(self, state: dict):
        self.agents = state["agents"]
        self.width = state["width"]
        self.height = state["height"]
        self.terrain = state["tiles"]["terrain"]
        self.amounts = state["tiles"]["amounts"]
        self.structures = state.get("structures") or {}
        self.rules_version = state.get("rulesVersion") or 1
        self.owned: dict[str, int] = {}
        if self.rules_version >= 2:
            for structure in self.structures.values():
                self.owned[structure["owner"]] = self.owned.get(structure["owner"], 0) + 1
        width = self.width
        self.occupancy = {a["y"] * width + a["x"]: aid for aid, a in self.agents.items()}
        self.moved: dict[str, tuple[int, int]] = {}
        self.arrived: set[int] = set()  # tiles entered this tick, to tell a lost race from a wall
        self.taken: dict[int, int] = {}  # units gathered per tile this tick
        self.built: set[str] = set()
        self.inventories: dict[str, dict] = {}

    def position(self, aid: str) -> tuple[int, int]:
        moved = self.moved.get(aid)
        if moved is not None:
            return moved
        agent = self.agents[aid]
        return agent["x"], agent["y"]

    def inventory(self, aid: str) -> dict:
        """Return the agent's inventory as changed so far this tick (a private copy)."""
        inventory = self.inventories.get(aid)
        if inventory is None:
            inventory = self.inventories[aid] = dict(self.agents[aid]["inventory"])
        return inventory

    def target(self, aid: str, action: dict) -> tuple[int, int, int]:
        x, y = self.position(aid)
        tx, ty = x + action["dx"], y + action["dy"]
        if not (0 <= tx < self.width and 0 <= ty < self.height):
            raise _Failed("out_of_bounds")
        return tx, ty, ty * self.width + tx

    # Each handler returns (effects, energy gained) or raises _Failed.

    def move(self, aid: str, action: dict) -> tuple[dict, int]:
        tx, ty, i = self.target(aid, action)
        if self.terrain[i] == WATER:
            raise _Failed("blocked")
        if i in self.occupancy:
            raise _Failed("lost_conflict" if i in self.arrived else "occupied")
        x, y = self.position(aid)
        del self.occupancy[y * self.width + x]
        self.occupancy[i] = aid
        self.arrived.add(i)
        self.moved[aid] = (tx, ty)
        return {"x": tx, "y": ty}, 0

    def gather(self, aid: str, action: dict) -> tuple[dict, int]:
        tx, ty, i = self.target(aid, action)
        resource = RESOURCE_OF_TERRAIN.get(self.terrain[i])
        if resource is None:
            raise _Failed("nothing_to_gather")
        inventory = self.inventory(aid)
        if sum(inventory.values()) >= INVENTORY_LIMIT:
            raise _Failed("inventory_full")
        taken = self.taken.get(i, 0)
        if self.amounts[i] - taken <= 0:
            raise _Failed("lost_conflict" if taken else "tile_empty")
        self.taken[i] = taken + 1
        inventory[resource] = inventory.get(resource, 0) + 1
        return {
            "inventory": {resource: 1},
            "score": SCORE_GATHER,
            "tile": {"x": tx, "y": ty, "resource": resource, "delta": -1},
        }, 0

    def eat(self, aid: str, action: dict) -> tuple[dict, int]:
        resource = action["resource"]
        if resource not in EDIBLE:
            raise _Failed("not_edible")
        inventory = self.inventory(aid)
        if inventory.get(resource, 0) < 1:
            raise _Failed("insufficient_resources")
        inventory[resource] -= 1
        return {"inventory": {resource: -1}}, EDIBLE[resource]

    def rest(self, aid: str, action: dict) -> tuple[dict, int]:
        x, y = self.position(aid)
        structure = self.structures.get(f"{x},{y}")
        return {}, STRUCTURES[structure["type"]]["restGain"] if structure else REST_GAIN

    def build(self, aid: str, action: dict) -> tuple[dict, int]:
        kind = action["structure"]
        x, y = self.position(aid)
        key = f"{x},{y}"
        if key in self.structures or key in self.built:
            raise _Failed("structure_exists")
        if self.rules_version >= 2 and self.owned.get(aid, 0) >= MAX_STRUCTURES_PER_AGENT:
            raise _Failed("structure_limit")
        cost = STRUCTURES[kind]["cost"]
        inventory = self.inventory(aid)
        if any(inventory.get(resource, 0) < n for resource, n in cost.items()):
            raise _Failed("insufficient_resources")
        for resource, n in cost.items():
            inventory[resource] -= n
        self.built.add(key)
        self.owned[aid] = self.owned.get(aid, 0) + 1
        return {
            "inventory": {resource: -n for resource, n in sorted(cost.items())},
            "score": STRUCTURES[kind]["score"],
            "structure": {"x": x, "y": y, "type": kind},
        }, 0

    def give(self, aid: str, action: dict) -> tuple[dict, int]:
        to, resource, amount = action["to"], action["resource"], action["amount"]
        if to == aid:
            raise _Failed("invalid_target")
        if to not in self.agents:
            raise _Failed("unknown_agent")
        (x, y), (ox, oy) = self.position(aid), self.position(to)
        if max(abs(x - ox), abs(y - oy)) != 1:
            raise _Failed("not_adjacent")
        inventory = self.inventory(aid)
        if inventory.get(resource, 0) < amount:
            raise _Failed("insufficient_resources")
        other = self.inventory(to)
        if sum(other.values()) + amount > INVENTORY_LIMIT:
            raise _Failed("recipient_full")
        inventory[resource] -= amount
        other[resource] = other.get(resource, 0) + amount
        return {
            "inventory": {resource: -amount},
            "score": SCORE_GIVE,
            "transfer": {"to": to, "resource": resource, "amount": amount},
        }, 0

    def say(self, aid: str, action: dict) -> tuple[dict, int]:
        return {"said": action["text"]}, 0

    def idle(self, aid: str, action: dict) -> tuple[dict, int]:
        return {}, 0

    def use(self, aid: str, action: dict) -> tuple[dict, int]:
        return {"capability": action["capability"]}, 0

    def act(self, aid: str, action: dict) -> tuple[str | None, dict]:
        """Resolve one validated action; return (failure reason or None, effects)."""
        energy = self.agents[aid]["energy"]
        kind = action["type"]
        cost = ACTION_COST[kind]
        try:
            if energy <= 0 and kind not in ALLOWED_WHEN_EXHAUSTED:
                raise _Failed("exhausted")
            if energy < cost:
                raise _Failed("not_enough_energy")
            effects, gain = getattr(self, kind)(aid, action)
            reason = None
        except _Failed as failure:
            effects, gain, cost, reason = {}, 0, 0, failure.reason
        effects["energy"] = max(0, min(MAX_ENERGY, energy - cost - ENERGY_DECAY + gain))
        return reason, effects


def _recordable(raw: object) -> dict:
    """Return an invalid decision in a form that can be stored as JSON."""
    try:
        copy = json.loads(canonical_json(raw))
    except (TypeError, ValueError):
        return {"unrecordable": repr(raw)[:200]}
    return copy if isinstance(copy, dict) else {"value": copy}


def _validate(raw: object, rules_version: int) -> dict:
    """Return the normalised action under the world's rules version, or raise InvalidAction."""
    action = validate_action(raw)
    if action["type"] == "use" and rules_version < USE_MIN_RULES_VERSION:
        # Worlds played under older rules recorded `use` as invalid; replaying them must agree.
        raise InvalidAction({"type": f"'use' needs rules version {USE_MIN_RULES_VERSION}"})
    return action


def evaluate_tick(world_state: dict, decisions: dict[str, dict], *, tick: int, seed: int) -> list[tuple[str, dict]]:
    """Return the outcome events (type, data) of one tick, sorted by agent id.

    Every active agent gets exactly one outcome; one without a decision idles. A decision for
    a paused agent fails "agent_paused", one for an agent not in the region "unknown_agent".
    """
    world = _Tick(world_state)
    agents = world_state["agents"]
    active = sorted(aid for aid, agent in agents.items() if agent.get("status", "active") == "active")
    outcomes: dict[str, tuple[str, dict]] = {}
    for aid in shuffled(active, random.Random(seed)):
        raw = decisions.get(aid)
        try:
            action = {"type": "idle"} if raw is None else _validate(raw, world.rules_version)
        except InvalidAction:
            action, reason, effects = _recordable(raw), "invalid_action", {}
            effects["energy"] = max(0, agents[aid]["energy"] - ENERGY_DECAY)
        else:
            reason, effects = world.act(aid, action)
        outcomes[aid] = _outcome(aid, tick, action, reason, effects)
    for aid in decisions:
        if aid in outcomes:
            continue
        if type(aid) is not str:
            raise TypeError(f"decision keys must be agent ids (str), got {aid!r}")
        try:
            action = _validate(decisions[aid], world.rules_version)
        except InvalidAction:
            action = _recordable(decisions[aid])
        reason = "agent_paused" if aid in agents else "unknown_agent"
        outcomes[aid] = _outcome(aid, tick, action, reason, {})
    return [outcomes[aid] for aid in sorted(outcomes)]


def _outcome(aid: str, tick: int, action: dict, reason: str | None, effects: dict) -> tuple[str, dict]:
    data = {"agentId": aid, "tick": tick, "action": action, "reason": reason, "effects": effects}
    return (FAILED if reason else SUCCEEDED), data
