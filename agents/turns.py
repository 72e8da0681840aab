"""An agent's turn, without storage: its context, its brain's decision or plan, the tick's ids.

Pure (no Django): the daemon's tick (`agents.services`, through `agents.runtime`) and the
browser's tick (`selfplay.local.engine`, under Pyodide) both take their decisions here, so a
brain decides the same way in either runtime.
"""

from __future__ import annotations

import logging
import uuid

from selfplay.canonical import canonical_json, storable
from selfplay.world import agent_rng

from .brains.base import AgentContext, Brain

logger = logging.getLogger(__name__)

IDLE = {"type": "idle"}
# A decision or plan is recorded before anything judges it, and goes out to every watcher: it
# must be JSON the store can hold, no larger than a command's whole body may be.
MAX_RECORDED_CHARS = 16 * 1024
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

    The decision is the brain's first action, or idle. A brain that fails (raises, even
    SystemExit, or returns something that is not a list of recordable actions) idles this turn
    and the error is recorded with the decision, instead of stopping the tick for every other agent.
    """
    try:
        decisions = brain.tick(ctx, world_state)
    except (Exception, SystemExit) as exc:  # a brain must not end the worker's process either
        logger.exception("brain %s failed for agent %s at tick %s", type(brain).__name__, ctx.id, ctx.tick)
        return IDLE, f"{type(exc).__name__}: {exc}"[:200]
    if not isinstance(decisions, list | tuple):
        return IDLE, f"unrecordable decision: tick() returned {type(decisions).__name__}, not a list of actions"
    if not decisions:
        return IDLE, None
    problem = unrecordable(decisions[0])
    if problem:
        return IDLE, f"unrecordable decision: {problem}"[:200]
    return decisions[0], None


def plan(brain: Brain, ctx: AgentContext, world_state: dict) -> dict | None:
    """Return the brain's new plan for the agent, or None (also when the brain fails, or returns
    something that cannot be recorded: one agent's plan must not stop its region's planning)."""
    try:
        new_plan = brain.plan(ctx, world_state)
    except (Exception, SystemExit):
        logger.exception("brain %s failed to plan for agent %s", type(brain).__name__, ctx.id)
        return None
    if new_plan is None:
        return None
    problem = "not an object" if not isinstance(new_plan, dict) else unrecordable(new_plan)
    if problem:
        logger.warning("brain %s made a plan for agent %s that cannot be recorded (%s); keeping the last one",
                       type(brain).__name__, ctx.id, problem)
        return None
    return new_plan


def unrecordable(value: object) -> str | None:
    """Return why a brain's output cannot be recorded as it is, or None when it can."""
    try:
        text = canonical_json(value)
    except (TypeError, ValueError, RecursionError) as exc:
        return str(exc)
    if not storable(value, text):
        return "not storable JSON (a NUL, an unpaired surrogate or an integer beyond 64 bits)"
    if len(text) > MAX_RECORDED_CHARS:
        return f"{len(text)} characters as JSON, more than {MAX_RECORDED_CHARS}"
    return None
