"""Record events: append, fold into projections, run the after-record hooks, publish after commit.

Hooks (`settings.SELFPLAY_AFTER_RECORD`, dotted paths to `hook(recorded) -> None`) run inside
the same transaction, after the projections are updated: the checkpoint manager uses one to
snapshot streams by policy, so a checkpoint is never ahead of or behind its events.
"""

from __future__ import annotations

from functools import cache, partial

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from .projections import project
from .publish import publish
from .services import append_batch
from .types import RecordedEvent


@cache
def _hooks():
    return [import_string(path) for path in getattr(settings, "SELFPLAY_AFTER_RECORD", [])]


@transaction.atomic
def record(items, *, known_states: dict[tuple[str, str], dict] | None = None,
           fresh_ids: bool = False) -> list[RecordedEvent]:
    """Append `(stream_id, events, expected_version)` items and update projections atomically.

    `known_states` are projection states the caller already computed for these very events
    (the tick folds the world while evaluating it); they are stored instead of folded again.
    """
    recorded = append_batch(items, fresh_ids=fresh_ids)
    project(recorded, known_states=known_states or {})
    for hook in _hooks():
        hook(recorded)
    transaction.on_commit(partial(publish, recorded))
    return recorded
