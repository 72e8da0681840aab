"""Small hand-drawn worlds for exact tests of the rules."""

from __future__ import annotations

from selfplay.world import fold, initial_state
from selfplay.world.rules import CAPACITY, RESOURCE_OF_TERRAIN, RULES_VERSION

# . grass  ~ water  b berries  f wood  r stone
SMALL = (
    "..b..",
    ".~f..",
    "..r..",
    ".....",
)


def created(rows=SMALL, *, region: str = "test", seed: int = 1, amounts: dict | None = None) -> dict:
    """Return a `world.created` event for rows of terrain; amounts maps (x, y) -> units."""
    width, height = len(rows[0]), len(rows)
    terrain = "".join(rows)
    tile_amounts = [CAPACITY[RESOURCE_OF_TERRAIN[c]] if c in RESOURCE_OF_TERRAIN else 0 for c in terrain]
    for (x, y), n in (amounts or {}).items():
        tile_amounts[y * width + x] = n
    data = {
        "region": region, "seed": seed, "width": width, "height": height,
        "rulesVersion": RULES_VERSION, "tiles": {"terrain": terrain, "amounts": tile_amounts},
    }
    return {"type": "world.created", "streamId": f"world:{region}", "data": data}


def spawned(agent_id: str, x: int, y: int, *, region: str = "test", brain: str = "forager") -> dict:
    data = {
        "agentId": agent_id, "name": agent_id.title(), "region": region, "brain": brain,
        "owner": "olive", "x": x, "y": y,
    }
    return {"type": "agent.spawned", "streamId": f"agent:{agent_id}", "data": data}


def world(rows=SMALL, agents: dict | None = None, *, amounts=None, structures=None, seed=1) -> dict:
    """Return a world state; agents maps id -> {x, y, energy?, inventory?, status?}."""
    agents = agents or {}
    events = [created(rows, amounts=amounts, seed=seed)]
    events += [spawned(aid, spec["x"], spec["y"]) for aid, spec in sorted(agents.items())]
    state = fold("world", initial_state("world", "test"), events)
    # The state is fresh and private here, so setting up fields in place is safe.
    for aid, spec in agents.items():
        entry = state["agents"][aid]
        entry["energy"] = spec.get("energy", 50)
        entry["inventory"].update(spec.get("inventory", {}))
        entry["status"] = spec.get("status", "active")
    for (x, y), kind in (structures or {}).items():
        state["structures"][f"{x},{y}"] = {"type": kind, "owner": "nobody", "tick": 0}
    return state
