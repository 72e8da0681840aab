"""The installed capabilities: SELFPLAY_CAPABILITIES maps a name to a plugin's dotted path.

A plugin that fails to import or to start is kept as unavailable with its reason; nothing here
ever raises into the daemon. The registry is built once per process, again when the setting
changes (tests use override_settings).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from .base import Capability

logger = logging.getLogger(__name__)

# The six capabilities of DESIGN §9; a deployment may install others under other names.
KNOWN = ("hash", "notify", "post", "read_authenticated", "read_public", "store")


@dataclass(frozen=True)
class Installed:
    """One entry of the registry: a started plugin, or the reason it is unavailable."""

    name: str
    path: str | None
    plugin: Capability | None
    reason: str = ""
    description: str = ""

    @property
    def available(self) -> bool:
        return self.plugin is not None

    @property
    def status(self) -> str:
        return "available" if self.available else "unavailable"


_lock = threading.Lock()
_installed: dict[str, Installed] | None = None


@receiver(setting_changed)
def _forget(*, setting, **kwargs) -> None:
    global _installed
    if setting.startswith("SELFPLAY_CAPABILIT") or setting.startswith("SELFPLAY_READ_") \
            or setting.startswith("SELFPLAY_POST_") or setting.startswith("SELFPLAY_BLOB"):
        with _lock:
            _installed = None


def _load(name: str, path: str) -> Installed:
    try:
        cls = import_string(path)
        if not (isinstance(cls, type) and issubclass(cls, Capability)):
            raise TypeError(f"{path} is not a subclass of agents.capabilities.base.Capability")
        plugin = cls(name)
        plugin.start()
    except Exception as exc:  # any failure makes the plugin unavailable, never the daemon
        reason = f"{type(exc).__name__}: {exc}"[:300]
        logger.warning("capability %s (%s) is unavailable: %s", name, path, reason)
        return Installed(name, path, None, reason)
    return Installed(name, path, plugin, "", plugin.description)


def installed() -> dict[str, Installed]:
    """Return every capability by name: the configured ones and the known ones not installed."""
    global _installed
    with _lock:
        if _installed is None:
            configured = dict(getattr(settings, "SELFPLAY_CAPABILITIES", {}) or {})
            found = {name: _load(name, str(path)) for name, path in sorted(configured.items())}
            for name in KNOWN:
                found.setdefault(name, Installed(name, None, None, "not installed (not in SELFPLAY_CAPABILITIES)"))
            _installed = dict(sorted(found.items()))
        return _installed


def plugin(name: str) -> Installed:
    """Return the registry's entry for `name` (unavailable when nothing is installed by that name)."""
    return installed().get(name) or Installed(name, None, None, "not installed (not in SELFPLAY_CAPABILITIES)")


def statuses() -> list[dict]:
    """Return each capability's name, path, status and reason, for the admin and selfplay_status."""
    return [{"name": entry.name, "path": entry.path, "status": entry.status, "reason": entry.reason,
             "description": entry.description, "cost": cost_of(entry.name)} for entry in installed().values()]


def cost_of(name: str) -> int:
    """Return what one request of capability `name` costs from an agent's budget."""
    costs = getattr(settings, "SELFPLAY_CAPABILITY_COSTS", {}) or {}
    return int(costs.get(name, settings.SELFPLAY_CAPABILITY_DEFAULT_COST))
