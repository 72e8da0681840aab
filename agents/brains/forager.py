"""Forager: lives off berries. Eats when hungry, strips the nearest bush, rests when spent."""

from __future__ import annotations

from selfplay.world import world_view

from .base import AgentContext, Brain
from .moves import eat, gather, has_room, random_step, reachable, rest, step_towards

HUNGRY = 50
SPENT = 6
CARRY = 6
SIGHT = 8


class Forager(Brain):
    """Keep energy up with berries; carry a few spare for the road."""

    def tick(self, agent: AgentContext, world_state: dict) -> list[dict]:
        me = agent.state
        x, y, energy = me["x"], me["y"], me["energy"]
        berries = me["inventory"].get("berries", 0)
        if energy <= HUNGRY and berries:
            return [eat()]
        if energy <= SPENT:
            return [rest()]
        view = world_view(world_state)
        if berries < CARRY and has_room(me):
            near = reachable(view, x, y, "berries")
            if near:
                return [gather(*near)]
            bush = view.nearest(x, y, "berries", radius=SIGHT)
            if bush:
                step = step_towards(view, x, y, *bush, agent.rng)
                if step:
                    return [step]
        if energy < 40:
            return [rest()]
        return [random_step(view, x, y, agent.rng) or rest()]
