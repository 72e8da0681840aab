"""The contract between the tick and an agent's policy (its brain).

For agent authors:

- Each simulation tick, the runtime calls `brain.tick(agent, world_state)` once per active
  agent and records what it returns as that agent's decisions (`agent.action.submitted`).
  Return a list of actions, normally exactly one; an empty list means "idle".
- An action is a dict that `selfplay.world.validate_action` accepts, e.g.
  `{"type": "move", "dx": 1, "dy": 0}`. An invalid one is still recorded, then fails with
  reason "invalid_action" when the tick is evaluated: the agent just loses its turn.
- Decisions are recorded inputs, so a brain may be non-deterministic (it could call a language
  model). The built-in brains draw all their randomness from `agent.rng`, which the runtime
  seeds per agent and tick, so they replay exactly too.
- Every planning tick the runtime calls `brain.plan(agent, world_state)`; a dict it returns is
  recorded (`agent.plan.updated`) and handed back as `agent.plan` on later ticks. Keep it JSON.
- A brain acts on the world outside only through capabilities (docs/capabilities.md): it returns
  `{"type": "use", "capability": "hash", "args": {"blob": "..."}}`, and on a later tick finds the
  outcome in `agent.capabilities["results"]` (with the budget it has left and its grants).
- One brain instance serves every agent that uses it: keep no per-agent state on `self`.
- Look only at the agent's neighbourhood (`selfplay.world.world_view` answers "what is at
  (x, y)" in constant time): a tick asks 10,000 brains, and scanning the region in each would
  not finish in time. Never mutate `world_state`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AgentContext:
    """What a brain knows about the agent it drives, for one call."""

    id: str
    name: str
    region: str
    tick: int
    state: dict  # the agent's entry in the world projection: x, y, energy, inventory, score...
    plan: dict | None
    rng: random.Random
    # {"budget": n, "grants": [...], "results": [{requestId, capability, tick, status, result |
    # blobHash | code}, ...]}: the agent's capability ledger, latest request last.
    capabilities: dict = field(default_factory=dict)


class Brain:
    """Base class of agent policies; subclasses implement `tick` and may implement `plan`."""

    def tick(self, agent: AgentContext, world_state: dict) -> list[dict]:
        """Return this tick's decisions for the agent, usually one action."""
        raise NotImplementedError("subclasses must implement tick()")

    def plan(self, agent: AgentContext, world_state: dict) -> dict | None:
        """Return a new plan for the agent, or None to keep acting without one."""
        return None
