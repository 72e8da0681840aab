"""The one public write of the event store: `record` (DESIGN §3).

`record` appends (events.raw), folds the new events into every projection they touch, runs the
after-record hooks (`settings.SELFPLAY_AFTER_RECORD`, dotted paths to `hook(recorded, *, now)`)
and publishes to the channel layer once the transaction commits — all in the caller's
transaction, so a projection or a checkpoint is never ahead of or behind its events.

A hook may record events itself (the checkpoint manager announces its checkpoints): those are
appended, projected and published like any others, but the hooks do not run again for them, so
no hook can recurse into itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from datetime import datetime
from functools import cache, partial

from django.conf import settings
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.module_loading import import_string

from . import raw
from .projections import lock_projection_keys, project
from .publish import publish
from .types import NewEvent, RecordedEvent

_in_hooks: ContextVar[bool] = ContextVar("selfplay_in_after_record_hooks", default=False)


@cache
def _hooks():
    return [import_string(path) for path in getattr(settings, "SELFPLAY_AFTER_RECORD", [])]


@receiver(setting_changed)
def _forget_hooks(*, setting, **kwargs) -> None:
    if setting == "SELFPLAY_AFTER_RECORD":
        _hooks.cache_clear()


@transaction.atomic
def record(items: Iterable[tuple[str, Sequence[NewEvent], raw.ExpectedVersion]], *,
           now: datetime | None = None, known_states: dict[tuple[str, str], dict] | None = None,
           fresh_ids: bool = False) -> list[RecordedEvent]:
    """Append `(stream_id, events, expected_version)` items atomically and return them as recorded.

    `now` is the store's clock (recordedAt; default: the wall clock), injected by callers that run
    on a clock of their own (the tick, tests). `known_states` are projection states the caller
    already computed for these very events (the tick folds the world while evaluating it); they
    are stored instead of folded again. `fresh_ids=True` declares that every explicit event id
    was just made with events.ids, so none can be a retry (see events.raw.append_batch).
    """
    now = now or timezone.now()
    recorded = raw.append_batch(items, fresh_ids=fresh_ids, now=now, before_positions=lock_projection_keys)
    project(recorded, known_states=known_states or {}, now=now)
    if not _in_hooks.get():
        token = _in_hooks.set(True)
        try:
            for hook in _hooks():
                hook(recorded, now=now)
        finally:
            _in_hooks.reset(token)
    transaction.on_commit(partial(publish, recorded))
    return recorded
