"""Helpers of the checkpoint tests: record streams with an injected clock."""

from __future__ import annotations

from datetime import datetime

from checkpoints.models import Checkpoint
from events.store import ANY, NewEvent, RecordedEvent, record


def noted(n: int, start: int = 0, kind: str = "test.noted") -> list[NewEvent]:
    return [NewEvent(kind, {"n": start + i}) for i in range(n)]


def record_at(now: datetime, items) -> list[RecordedEvent]:
    """Record `(stream, events)` items with the store's clock at `now`."""
    return record([(stream, events, ANY) for stream, events in items], now=now)


def positions(stream_id: str) -> list[int]:
    """Return the positions of a stream's checkpoints, oldest first."""
    return sorted(Checkpoint.objects.filter(stream_id=stream_id).values_list("position", flat=True))


def error_of(response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["message"], body
    return response.status_code, body["error"]["code"]
