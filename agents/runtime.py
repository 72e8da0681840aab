"""Asking brains for decisions: the part of the tick that runs agent code."""

from __future__ import annotations

import logging
from functools import cache

from django.conf import settings

from agents.brains.base import AgentContext, Brain
from agents.brains.registry import UnknownBrain, load_brain
from selfplay.canonical import canonical_json
from selfplay.world import agent_rng

logger = logging.getLogger(__name__)


@cache
def brain_named(name: str) -> Brain:
    """Return the shared instance of the brain registered under `name` in settings."""
    try:
        return load_brain(settings.SELFPLAY_BRAINS[name])
    except KeyError:
        raise UnknownBrain(f"no brain named {name!r}; known: {', '.join(sorted(settings.SELFPLAY_BRAINS))}") from None


def context(agent_id: str, world_state: dict, plan: dict | None, *, tick: int) -> AgentContext:
    entry = world_state["agents"][agent_id]
    return AgentContext(
        id=agent_id, name=entry["name"], region=world_state["region"], tick=tick, state=entry,
        plan=plan, rng=agent_rng(world_state["seed"], tick, agent_id),
    )


IDLE = {"type": "idle"}


def decide(brain_name: str, ctx: AgentContext, world_state: dict) -> tuple[object, str | None]:
    """Return (the brain's decision for this tick, an error text or None).

    The decision is the brain's first action, or idle. A brain that raises idles this turn and
    the error is recorded with the decision, instead of stopping the tick for every other agent.
    """
    try:
        decisions = brain_named(brain_name).tick(ctx, world_state)
    except Exception as exc:
        logger.exception("brain %s failed for agent %s at tick %s", brain_name, ctx.id, ctx.tick)
        return IDLE, f"{type(exc).__name__}: {exc}"[:200]
    if not decisions:
        return IDLE, None
    try:
        canonical_json(decisions[0])
    except (TypeError, ValueError) as exc:
        # Recorded inputs must be JSON; an unrecordable one would fail the tick for everyone.
        return IDLE, f"unrecordable decision: {exc}"[:200]
    return decisions[0], None


def plan(brain_name: str, ctx: AgentContext, world_state: dict) -> dict | None:
    try:
        return brain_named(brain_name).plan(ctx, world_state)
    except Exception:
        logger.exception("brain %s failed to plan for agent %s", brain_name, ctx.id)
        return None
