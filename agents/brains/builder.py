"""Builder: gathers wood and stone and raises huts, next to other structures when it can."""

from __future__ import annotations

from selfplay.world import STRUCTURES, world_view
from selfplay.world.rules import GRASS, MAX_STRUCTURES_PER_AGENT
from selfplay.world.view import NEIGHBOUR_STEPS, WorldView

from .base import AgentContext, Brain
from .moves import eat, gather, has_room, random_step, reachable, rest, step_towards

HUT = STRUCTURES["hut"]["cost"]
CAMPFIRE = STRUCTURES["campfire"]["cost"]
HUNGRY = 30
SPENT = 8
SIGHT = 10
SITE_RADIUS = 4


def _buildable(view: WorldView, x: int, y: int) -> bool:
    # Keep resource tiles for gathering: build on open grass only.
    return (
        view.inside(x, y)
        and view.terrain[y * view.width + x] == GRASS
        and view.structure_at(x, y) is None
    )


def _at_limit(agent: AgentContext, world_state: dict) -> bool:
    """Whether the agent owns as many structures as its world's rules allow (rules version 2 on)."""
    if (world_state.get("rulesVersion") or 1) < 2:
        return False
    owned = sum(1 for s in world_state.get("structures", {}).values() if s["owner"] == agent.id)
    return owned >= MAX_STRUCTURES_PER_AGENT


class Builder(Brain):
    """Collect a hut's materials, walk to the planned site, build; repeat."""

    def plan(self, agent: AgentContext, world_state: dict) -> dict | None:
        """Return a build site: open grass near the agent, beside a structure if possible."""
        view = world_view(world_state)
        x, y = agent.state["x"], agent.state["y"]
        sites = [(tx, ty) for tx, ty in view.around(x, y, radius=SITE_RADIUS) if _buildable(view, tx, ty)]
        if not sites:
            return None
        in_village = [
            (tx, ty) for tx, ty in sites
            if any(view.structure_at(tx + dx, ty + dy) for dx, dy in NEIGHBOUR_STEPS)
        ]
        tx, ty = (in_village or sites)[0]
        return {"site": {"x": tx, "y": ty}, "structure": "hut"}

    def tick(self, agent: AgentContext, world_state: dict) -> list[dict]:
        me = agent.state
        x, y, energy, inventory = me["x"], me["y"], me["energy"], me["inventory"]
        view = world_view(world_state)
        if energy <= HUNGRY:
            if inventory.get("berries", 0):
                return [eat()]
            near = reachable(view, x, y, "berries")
            if near and has_room(me) and energy > 2:
                return [gather(*near)]
            if energy <= SPENT:
                return [rest()]
        if _at_limit(agent, world_state):
            # All the structures the rules allow are built: keep fed and roam instead.
            near = reachable(view, x, y, "berries")
            if near and has_room(me) and energy < 60:
                return [gather(*near)]
            return [random_step(view, x, y, agent.rng) or rest()]
        need = next((r for r in sorted(HUT) if inventory.get(r, 0) < HUT[r]), None)
        if need is None:
            return [self._build(agent, view)]
        if not has_room(me):
            return [eat() if inventory.get("berries", 0) else rest()]
        near = reachable(view, x, y, need)
        if near:
            return [gather(*near)]
        target = view.nearest(x, y, need, radius=SIGHT)
        if target is None and all(inventory.get(r, 0) >= n for r, n in CAMPFIRE.items()):
            if _buildable(view, x, y):
                # No stone in sight: a campfire is the next best thing.
                return [{"type": "build", "structure": "campfire"}]
        step = step_towards(view, x, y, *target, agent.rng) if target else None
        return [step or random_step(view, x, y, agent.rng) or rest()]

    def _build(self, agent: AgentContext, view: WorldView) -> dict:
        x, y = agent.state["x"], agent.state["y"]
        site = (agent.plan or {}).get("site")
        if site and _buildable(view, site["x"], site["y"]) and (site["x"], site["y"]) != (x, y):
            step = step_towards(view, x, y, site["x"], site["y"], agent.rng)
            if step:
                return step
        if _buildable(view, x, y):
            return {"type": "build", "structure": "hut"}
        return random_step(view, x, y, agent.rng) or rest()
