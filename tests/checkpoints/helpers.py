"""Helpers of the checkpoint tests: write streams as `record()` does, with an injected clock."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from checkpoints.models import Checkpoint
from checkpoints.services import after_record
from events.projections import project
from events.store import ANY, NewEvent, RecordedEvent, append_batch


def noted(n: int, start: int = 0, kind: str = "test.noted") -> list[NewEvent]:
    return [NewEvent(kind, {"n": start + i}) for i in range(n)]


def record_at(now: datetime, items) -> list[RecordedEvent]:
    """Do what events.recording.record does (append, project, hooks), with the hook's clock at `now`."""
    with transaction.atomic():
        recorded = append_batch([(stream, events, ANY) for stream, events in items])
        project(recorded)
        after_record(recorded, now=now)
    return recorded


def positions(stream_id: str) -> list[int]:
    """Return the positions of a stream's checkpoints, oldest first."""
    return sorted(Checkpoint.objects.filter(stream_id=stream_id).values_list("position", flat=True))


def error_of(response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["message"], body
    return response.status_code, body["error"]["code"]
