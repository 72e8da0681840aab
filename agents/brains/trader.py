"""Trader: gathers whatever is scarce in its pack and hands its surplus to neighbours."""

from __future__ import annotations

from selfplay.world import RESOURCES, world_view
from selfplay.world.rules import INVENTORY_LIMIT

from .base import AgentContext, Brain
from .moves import carried, eat, gather, has_room, random_step, reachable, rest, step_towards

HUNGRY = 35
SPENT = 8
SURPLUS = 3
SIGHT = 6


class Trader(Brain):
    """Give away what it has most of to the neighbour holding least of it."""

    def tick(self, agent: AgentContext, world_state: dict) -> list[dict]:
        me = agent.state
        x, y, energy, inventory = me["x"], me["y"], me["energy"], me["inventory"]
        if energy <= HUNGRY and inventory.get("berries", 0):
            return [eat()]
        if energy <= SPENT:
            return [rest()]
        view = world_view(world_state)
        # Most held first, ties by name, so the choice is stable.
        most = min(RESOURCES, key=lambda r: (-inventory.get(r, 0), r))
        surplus = most if inventory.get(most, 0) >= SURPLUS else None
        if surplus:
            amount = min(2, inventory[surplus] - 1)
            agents = world_state["agents"]
            takers = [
                a for a in view.agents_near(x, y, radius=1)
                if carried(agents[a]) + amount <= INVENTORY_LIMIT
            ]
            if takers:
                to = min(takers, key=lambda a: (agents[a]["inventory"].get(surplus, 0), a))
                return [{"type": "give", "to": to, "resource": surplus, "amount": amount}]
        wanted = sorted(RESOURCES, key=lambda r: (inventory.get(r, 0), r))
        if has_room(me):
            for resource in wanted:
                near = reachable(view, x, y, resource)
                if near:
                    return [gather(*near)]
        target = None
        if surplus:
            others = view.agents_near(x, y, radius=SIGHT)
            if others:
                other = world_state["agents"][others[0]]
                target = other["x"], other["y"]
        if target is None and has_room(me):
            target = view.nearest(x, y, wanted[0], radius=SIGHT)
        step = step_towards(view, x, y, *target, agent.rng) if target else None
        return [step or random_step(view, x, y, agent.rng) or rest()]
