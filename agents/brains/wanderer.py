"""Wanderer: roams on a heading chosen at each plan, chats with whoever it meets."""

from __future__ import annotations

from selfplay.world import world_view
from selfplay.world.view import NEIGHBOUR_STEPS

from .base import AgentContext, Brain
from .moves import eat, gather, has_room, move, pick, random_step, reachable, rest

HUNGRY = 25
SPENT = 10
CHATTY = 0.2
PECKISH = 0.1
STEADY = 0.75

LINES = (
    "What a view from here.",
    "Anyone seen the lake?",
    "The berries are sweeter over the hill.",
    "Just passing through.",
    "I wonder what lies past the rocks.",
    "Lovely weather for a walk.",
)


class Wanderer(Brain):
    """Walk, mostly straight on, talk often, snack now and then."""

    def plan(self, agent: AgentContext, world_state: dict) -> dict | None:
        """Return a new heading to roam along."""
        dx, dy = pick(agent.rng, NEIGHBOUR_STEPS)
        return {"heading": {"dx": dx, "dy": dy}}

    def tick(self, agent: AgentContext, world_state: dict) -> list[dict]:
        me, rng = agent.state, agent.rng
        x, y, energy = me["x"], me["y"], me["energy"]
        if energy <= HUNGRY and me["inventory"].get("berries", 0):
            return [eat()]
        if energy <= SPENT:
            return [rest()]
        view = world_view(world_state)
        roll = rng.random()
        if roll < CHATTY:
            return [{"type": "say", "text": self._line(agent, world_state, view)}]
        if roll < CHATTY + PECKISH and has_room(me):
            near = reachable(view, x, y, "berries")
            if near:
                return [gather(*near)]
        heading = (agent.plan or {}).get("heading")
        if heading and rng.random() < STEADY and view.free(x + heading["dx"], y + heading["dy"]):
            return [move(heading["dx"], heading["dy"])]
        return [random_step(view, x, y, rng) or rest()]

    def _line(self, agent: AgentContext, world_state: dict, view) -> str:
        nearby = view.agents_near(agent.state["x"], agent.state["y"], radius=2)
        if nearby:
            name = world_state["agents"][nearby[0]].get("name") or nearby[0]
            return f"Hello, {name}!"[:140]
        return pick(agent.rng, LINES)
