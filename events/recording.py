"""Record events: append, fold into projections and publish after commit, as one unit."""

from __future__ import annotations

from functools import partial

from django.db import transaction

from .projections import project
from .publish import publish
from .services import append_batch
from .types import RecordedEvent


@transaction.atomic
def record(items, *, known_states: dict[tuple[str, str], dict] | None = None,
           fresh_ids: bool = False) -> list[RecordedEvent]:
    """Append `(stream_id, events, expected_version)` items and update projections atomically.

    `known_states` are projection states the caller already computed for these very events
    (the tick folds the world while evaluating it); they are stored instead of folded again.
    """
    recorded = append_batch(items, fresh_ids=fresh_ids)
    project(recorded, known_states=known_states or {})
    transaction.on_commit(partial(publish, recorded))
    return recorded
