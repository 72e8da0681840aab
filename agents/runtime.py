"""Asking brains for decisions: the part of the tick that runs agent code.

Brains are found by the names in settings; the turn itself (context, decision, plan) is
`agents.turns`, which the browser-only variant runs too.
"""

from __future__ import annotations

import logging
from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from agents.brains.base import AgentContext, Brain
from agents.brains.registry import UnknownBrain, load_brain

from . import turns
from .turns import IDLE, context

__all__ = ["IDLE", "brain_named", "context", "decide", "plan"]

logger = logging.getLogger(__name__)


@receiver(setting_changed)
def _forget_brains(*, setting, **kwargs) -> None:
    if setting == "SELFPLAY_BRAINS":
        brain_named.cache_clear()


@cache
def brain_named(name: str) -> Brain:
    """Return the shared instance of the brain registered under `name` in settings."""
    try:
        return load_brain(settings.SELFPLAY_BRAINS[name])
    except KeyError:
        raise UnknownBrain(f"no brain named {name!r}; known: {', '.join(sorted(settings.SELFPLAY_BRAINS))}") from None


def decide(brain_name: str, ctx: AgentContext, world_state: dict) -> tuple[object, str | None]:
    """Return (the named brain's decision for this tick, an error text or None); see turns.decide."""
    try:
        brain = brain_named(brain_name)
    except Exception as exc:
        logger.exception("brain %s failed for agent %s at tick %s", brain_name, ctx.id, ctx.tick)
        return IDLE, f"{type(exc).__name__}: {exc}"[:200]
    return turns.decide(brain, ctx, world_state)


def plan(brain_name: str, ctx: AgentContext, world_state: dict) -> dict | None:
    try:
        brain = brain_named(brain_name)
    except Exception:
        logger.exception("brain %s failed to plan for agent %s", brain_name, ctx.id)
        return None
    return turns.plan(brain, ctx, world_state)
