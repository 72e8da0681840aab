"""Reader: an example of a brain whose planner lives outside the daemon, reached through the
`read_public` capability. A language-model planner plugs in the same way: put it behind an
HTTP endpoint on an allowlisted host (SELFPLAY_READ_PUBLIC_HOSTS) that answers with an action.

Every ASK_EVERY ticks the reader asks `planner_url` (with its position and energy in the query)
for advice; the answer's text is a JSON action. Until it asks again it follows the latest advice
if that is an action the world accepts, and otherwise (no answer yet, a failure, nonsense) it
wanders. The
advice is a recorded capability result, so the brain decides from the log alone: a replay
re-reads the recorded answer and never asks the planner again.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from selfplay.world import InvalidAction, validate_action

from .base import AgentContext, Brain
from .wanderer import Wanderer

ASK_EVERY = 4


class Reader(Brain):
    planner_url = "http://127.0.0.1:8765/plan"
    walker = Wanderer()

    def plan(self, agent: AgentContext, world_state: dict) -> dict | None:
        return self.walker.plan(agent, world_state)

    def tick(self, agent: AgentContext, world_state: dict) -> list[dict]:
        ledger = agent.capabilities or {}
        results = ledger.get("results") or []
        last = results[-1] if results else None
        waiting = last is not None and last["status"] == "pending"
        if not waiting and agent.tick % ASK_EVERY == 0 and "read_public" in ledger.get("grants", ()):
            me = agent.state
            query = urlencode({"agent": agent.id, "x": me["x"], "y": me["y"], "energy": me["energy"],
                               "tick": agent.tick})
            return [{"type": "use", "capability": "read_public", "args": {"url": f"{self.planner_url}?{query}"}}]
        if last is not None and last["capability"] == "read_public" and last["status"] == "completed":
            advice = self.advice(last.get("result") or {})
            if advice is not None:
                return [advice]  # the latest advice holds until the next answer
        return self.walker.tick(agent, world_state)

    @staticmethod
    def advice(result: dict) -> dict | None:
        """Return the action a planner's answer holds, or None if it holds none the world accepts."""
        try:
            action = validate_action(json.loads(result.get("text", "")))
        except (InvalidAction, ValueError, TypeError):
            return None
        return None if action["type"] == "use" else action
