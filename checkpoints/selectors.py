"""Reads of the checkpoint manager: latest checkpoints, the one at a position, the policy's due
list, and `/sync` pages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from events.selectors import values_table
from events.store import RecordedEvent, read_stream, stream_version
from selfplay.canonical import checksum

from .exceptions import CheckpointCorrupt, InvalidRequest, StateUnavailable, TokenInvalid
from .models import Checkpoint
from .storage import StateMissing, StorageUnavailable, storage_named
from .streams import check_stream_id
from .tokens import TokenPayload, decode_token

DEFAULT_SYNC_LIMIT = 1000
MAX_SYNC_LIMIT = 5000


def latest_checkpoint(stream_id: str) -> Checkpoint | None:
    """Return the newest checkpoint of a stream (without loading its state), or None."""
    check_stream_id(stream_id)
    return (Checkpoint.objects.defer("state").filter(stream_id=stream_id)
            .order_by("-position", "-created_at").first())


def checkpoint_at(stream_id: str, *, position: int | None = None,
                  global_position: int | None = None) -> Checkpoint | None:
    """Return the newest checkpoint of a stream at or before a position (without its state), or None.

    Give exactly one of `position` (the stream's own) or `global_position` (the log's, to line
    a stream up with another one at the same moment).
    """
    check_stream_id(stream_id)
    if (position is None) == (global_position is None):
        raise InvalidRequest("Give exactly one of position and globalPosition.",
                             {"position": position, "globalPosition": global_position})
    bound = {"position__lte": position} if position is not None else {"global_position__lte": global_position}
    return (Checkpoint.objects.defer("state").filter(stream_id=stream_id, **bound)
            .order_by("-position", "-created_at").first())


def due_streams(heads: Mapping[str, int], *, now: datetime | None = None) -> list[str]:
    """Return, sorted, the streams among `heads` ({stream id: version}) due for a checkpoint.

    Due: no checkpoint yet, or SELFPLAY_CHECKPOINT_EVERY_EVENTS events since the newest one, or
    that one is SELFPLAY_CHECKPOINT_EVERY_SECONDS old and the stream moved since. One query,
    however many streams.
    """
    if not heads:
        return []
    every_events = settings.SELFPLAY_CHECKPOINT_EVERY_EVENTS
    old_before = (now or timezone.now()) - timedelta(seconds=settings.SELFPLAY_CHECKPOINT_EVERY_SECONDS)
    # The age test runs in SQL against one bound: every tick asks this for all its streams, and
    # turning each row's time into a datetime cost more than the query. Each maximum is one
    # descent of an index, so the query costs the same however many checkpoints a stream keeps
    # (up to one an hour for the tokens' lifetime): a GROUP BY read them all, every tick.
    sql, params = values_table(heads)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT wanted.value, "
            "(SELECT MAX(position) FROM checkpoints_checkpoint WHERE stream_id = wanted.value), "
            "(SELECT MAX(created_at) FROM checkpoints_checkpoint WHERE stream_id = wanted.value) <= %s "
            f"FROM ({sql}) AS wanted",
            [connection.ops.adapt_datetimefield_value(old_before), *params])
        latest = {stream_id: (position, bool(old)) for stream_id, position, old in cursor.fetchall()
                  if position is not None}
    due = []
    for stream_id, head in heads.items():
        last = latest.get(stream_id)
        if last is None:
            due.append(stream_id)
            continue
        position, old = last
        if head > position and (head - position >= every_events or old):
            due.append(stream_id)
    return sorted(due)


def checkpoint_state(checkpoint: Checkpoint) -> dict:
    """Return a checkpoint's stored state, verified against its checksum."""
    try:
        state = storage_named(checkpoint.storage).load(checkpoint)
    except StateMissing as exc:
        raise CheckpointCorrupt(f"Checkpoint {checkpoint.pk}'s state is missing; ask for a newer one.",
                                {"checkpointId": str(checkpoint.pk), "reason": str(exc)}) from exc
    except StorageUnavailable as exc:
        raise StateUnavailable("Checkpoint states cannot be read just now; try again.",
                               {"storage": checkpoint.storage}) from exc
    if checksum(state) != checkpoint.checksum:
        raise CheckpointCorrupt(
            f"Checkpoint {checkpoint.pk}'s stored state no longer matches its checksum.",
            {"checkpointId": str(checkpoint.pk), "checksum": checkpoint.checksum})
    return state


@dataclass(frozen=True)
class SyncPage:
    checkpoint: Checkpoint
    state: dict
    events: list[RecordedEvent]
    last_position: int
    head_position: int

    @property
    def complete(self) -> bool:
        return self.last_position == self.head_position


def checkpoint_for_token(payload: TokenPayload) -> tuple[Checkpoint, int]:
    """Return the checkpoint a decoded token names and its stream's head; raise TokenInvalid."""
    head = stream_version(payload.stream_id)
    if payload.position > head:
        raise TokenInvalid(
            f"The token is at position {payload.position}, past the stream's head {head}.",
            {"reason": "ahead_of_head", "position": payload.position, "headPosition": head})
    checkpoint = Checkpoint.objects.defer("state").filter(pk=payload.checkpoint_id).first()
    if checkpoint is None:
        raise TokenInvalid("The token names a checkpoint that no longer exists; ask "
                           "/checkpoint/latest for a new token.",
                           {"reason": "unknown_checkpoint", "checkpointId": payload.checkpoint_id})
    if ((checkpoint.stream_id, checkpoint.position, checkpoint.checksum)
            != (payload.stream_id, payload.position, payload.checksum)):
        raise TokenInvalid("The token does not match its checkpoint.",
                           {"reason": "mismatch", "checkpointId": payload.checkpoint_id})
    return checkpoint, head


def sync(*, token: str, after: int | None = None, limit: int = DEFAULT_SYNC_LIMIT,
         now: datetime | None = None) -> SyncPage:
    """Return a checkpoint's state and the stream's events after `after` (default: its position)."""
    if not 1 <= limit <= MAX_SYNC_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {MAX_SYNC_LIMIT}.", {"limit": limit})
    payload = decode_token(token, now=now)
    checkpoint, head = checkpoint_for_token(payload)
    state = checkpoint_state(checkpoint)
    after = checkpoint.position if after is None else after
    if not 0 <= after <= head:
        raise InvalidRequest(f"after must be between 0 and the stream's head {head}.",
                             {"after": after, "headPosition": head})
    # The head was read first; events committed since then wait for the next page.
    events = [e for e in read_stream(checkpoint.stream_id, after=after, limit=limit) if e.position <= head]
    return SyncPage(checkpoint, state, events, events[-1].position if events else after, head)
