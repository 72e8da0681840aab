"""Find brains by dotted path or by the short names an agent records (`agent.spawned.brain`)."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping

from .base import Brain

BUILTIN_BRAINS = {
    "builder": "agents.brains.builder.Builder",
    "forager": "agents.brains.forager.Forager",
    "trader": "agents.brains.trader.Trader",
    "wanderer": "agents.brains.wanderer.Wanderer",
}
# Brains that act through capabilities (docs/capabilities.md). The daemon knows them; the
# browser-only variant, which has no capabilities, and the demo's round-robin do not use them.
CAPABILITY_BRAINS = {
    "reader": "agents.brains.reader.Reader",
    "scribe": "agents.brains.scribe.Scribe",
}


class UnknownBrain(LookupError):
    """No brain by that name or dotted path."""


_instances: dict[str, Brain] = {}
_lock = threading.Lock()


def load_brain(dotted_path: str) -> Brain:
    """Return the (shared) instance of the Brain subclass at dotted_path."""
    brain = _instances.get(dotted_path)
    if brain is not None:
        return brain
    module_path, _, class_name = str(dotted_path).rpartition(".")
    if not module_path:
        raise UnknownBrain(f"{dotted_path!r} is not a dotted path like 'package.module.Class'")
    try:
        module = importlib.import_module(module_path)
    except ImportError as exc:
        raise UnknownBrain(f"cannot import brain module {module_path!r}: {exc}") from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        raise UnknownBrain(f"module {module_path!r} has no brain class {class_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, Brain)):
        raise UnknownBrain(f"{dotted_path!r} is not a subclass of agents.brains.Brain")
    with _lock:
        return _instances.setdefault(dotted_path, cls())


def resolve_brain(name: str, mapping: Mapping[str, str] = BUILTIN_BRAINS) -> Brain:
    """Return the brain registered under name in mapping (name -> dotted path)."""
    if name not in mapping:
        known = ", ".join(sorted(mapping)) or "none"
        raise UnknownBrain(f"unknown brain {name!r}; known brains: {known}")
    return load_brain(mapping[name])


def brains_by_name(mapping: Mapping[str, str] = BUILTIN_BRAINS) -> dict[str, Brain]:
    """Return every brain of mapping, loaded, by name; fail on the first that cannot load."""
    return {name: load_brain(path) for name, path in sorted(mapping.items())}
