"""Scribe: the demo brain of capabilities. It wanders, and every few ticks keeps a journal line:
`hash` it, `store` it (with its digest), then `notify` its owner where the line is kept.

Each step starts from the outcome of the one before, which the brain finds in
`agent.capabilities["results"]` (the latest request last): the capability results are part of
its observation, exactly as recorded, so a replay sees what the live brain saw.
"""

from __future__ import annotations

from .base import AgentContext, Brain
from .wanderer import Wanderer

EVERY = 5  # ticks between two steps of the journal
COSTS = {"hash": 1, "store": 2, "notify": 3}  # the default costs; a step waits while the budget is short


def use(capability: str, **args) -> dict:
    return {"type": "use", "capability": capability, "args": args}


class Scribe(Brain):
    """Journal through hash, store and notify; otherwise walk like a wanderer."""

    walker = Wanderer()

    def plan(self, agent: AgentContext, world_state: dict) -> dict | None:
        return self.walker.plan(agent, world_state)

    def tick(self, agent: AgentContext, world_state: dict) -> list[dict]:
        step = self.next_step(agent)
        if step is not None and agent.tick % EVERY == 0:
            return [step]
        return self.walker.tick(agent, world_state)

    def next_step(self, agent: AgentContext) -> dict | None:
        """Return the journal's next `use` action, or None while waiting (pending, short of budget)."""
        ledger = agent.capabilities or {}
        grants = set(ledger.get("grants", ()))
        results = ledger.get("results") or []
        last = results[-1] if results else None
        if last is not None and last["status"] == "pending":
            return None
        if last is not None and last["status"] == "completed" and last["capability"] == "hash" and "result" in last:
            hashed = (last.get("args") or {}).get("blob", "")
            step = use("store", blob=f"{hashed} sha256={last['result']['sha256']}")
        elif last is not None and last["status"] == "completed" and last["capability"] == "store":
            kept = last.get("result", {}).get("blobHash") or last.get("blobHash", "")
            step = use("notify", message=f"{agent.name} kept a journal line as blob {kept[:12]} at tick {agent.tick}")
        else:
            step = use("hash", blob=self.line(agent))
        if step["capability"] not in grants or ledger.get("budget", 0) < COSTS[step["capability"]]:
            return None
        return step

    @staticmethod
    def line(agent: AgentContext) -> str:
        me = agent.state
        return f"{agent.name} at ({me['x']}, {me['y']}) with energy {me['energy']} on tick {agent.tick}"
