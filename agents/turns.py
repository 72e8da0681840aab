"""An agent's turn, without storage: its context, its brain's decision or plan, the tick's ids.

Pure (no Django): the daemon's tick (`agents.services`, through `agents.runtime`) and the
browser's tick (`selfplay.local.engine`, under Pyodide) both take their decisions here, so a
brain decides the same way in either runtime.
"""

from __future__ import annotations

import logging
import uuid

from selfplay.canonical import canonical_json
from selfplay.world import agent_rng

from .brains.base import AgentContext, Brain

logger = logging.getLogger(__name__)

IDLE = {"type": "idle"}
_CORRELATION_NAMESPACE = uuid.UUID("6f1c0000-5e1f-4a1a-9000-000000000001")


def tick_correlation_id(region_id: str, tick: int) -> str:
    """Return the correlation id shared by every event of one region's tick."""
    return str(uuid.uuid5(_CORRELATION_NAMESPACE, f"world:{region_id}:tick:{tick}"))


def context(agent_id: str, world_state: dict, plan: dict | None, *, tick: int,
            capabilities: dict | None = None) -> AgentContext:
    """Return what a brain knows about one agent for one call, with its seeded RNG."""
    entry = world_state["agents"][agent_id]
    return AgentContext(
        id=agent_id, name=entry["name"], region=world_state["region"], tick=tick, state=entry,
        plan=plan, rng=agent_rng(world_state["seed"], tick, agent_id), capabilities=capabilities or {},
    )


def decide(brain: Brain, ctx: AgentContext, world_state: dict) -> tuple[object, str | None]:
    """Return (the brain's decision for this tick, an error text or None).

    The decision is the brain's first action, or idle. A brain that raises idles this turn and
    the error is recorded with the decision, instead of stopping the tick for every other agent.
    """
    try:
        decisions = brain.tick(ctx, world_state)
    except Exception as exc:
        logger.exception("brain %s failed for agent %s at tick %s", type(brain).__name__, ctx.id, ctx.tick)
        return IDLE, f"{type(exc).__name__}: {exc}"[:200]
    if not decisions:
        return IDLE, None
    try:
        canonical_json(decisions[0])
    except (TypeError, ValueError) as exc:
        # Recorded inputs must be JSON; an unrecordable one would fail the tick for everyone.
        return IDLE, f"unrecordable decision: {exc}"[:200]
    return decisions[0], None


def plan(brain: Brain, ctx: AgentContext, world_state: dict) -> dict | None:
    """Return the brain's new plan for the agent, or None (also when the brain fails)."""
    try:
        return brain.plan(ctx, world_state)
    except Exception:
        logger.exception("brain %s failed to plan for agent %s", type(brain).__name__, ctx.id)
        return None
