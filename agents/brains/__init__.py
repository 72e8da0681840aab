"""Agent policies ("brains"): pure Python, no Django. See `base` for the contract."""

from .base import AgentContext, Brain
from .registry import BUILTIN_BRAINS, UnknownBrain, brains_by_name, load_brain, resolve_brain

__all__ = [
    "BUILTIN_BRAINS",
    "AgentContext",
    "Brain",
    "UnknownBrain",
    "brains_by_name",
    "load_brain",
    "resolve_brain",
]
