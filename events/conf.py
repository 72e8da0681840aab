"""What the generic event store is told about the apps above it: callables named by dotted path.

`events` knows no game. Which projections exist (SELFPLAY_PROJECTIONS), what runs after a record
(SELFPLAY_AFTER_RECORD), which heartbeats a tick sends and which a stream follows
(SELFPLAY_STREAM_HEARTBEATS, SELFPLAY_STREAM_HEARTBEAT_GROUPS) and what a socket's command
does (SELFPLAY_STREAM_COMMAND_HANDLER) are settings, read once and forgotten when they change.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string


@cache
def injected(setting: str):
    """Return the object that settings.<setting> names by dotted path."""
    return import_string(getattr(settings, setting))


@receiver(setting_changed)
def _forget(*, setting, **kwargs) -> None:
    injected.cache_clear()
