"""Writes of the checkpoint manager: snapshots by policy (DESIGN §7), on demand, and retention.

Each checkpoint is announced by `checkpoint.created {checkpointId, streamId, position,
globalPosition, checksum}` in the stream `system:checkpoints`, recorded like any event; the
store does not run its after-record hooks for what a hook records, so the policy cannot
recurse into itself (it checkpoints `system:checkpoints` explicitly, once).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events.projections import lock_writers
from events.selectors import values_subquery
from events.store import ANY, NewEvent, RecordedEvent, anchor_heads, record
from selfplay.canonical import canonical_text

from . import selectors, signals
from .exceptions import NoCheckpoint, TokenInvalid
from .models import Checkpoint
from .selectors import due_streams
from .signals import Client
from .storage import Entry, StorageUnavailable, default_storage, storage_named
from .streams import check_stream_id, snapshots
from .tokens import decode_token, format_moment, ttl_seconds

logger = logging.getLogger(__name__)

CHECKPOINT_STREAM = "system:checkpoints"
CREATED = "checkpoint.created"
DEFAULT_RETENTION = 5
_DELETE_CHUNK = 500


def retention() -> int:
    """Return how many checkpoints are kept per stream (at least one)."""
    return max(1, int(getattr(settings, "SELFPLAY_CHECKPOINT_RETENTION", DEFAULT_RETENTION)))


def after_record(recorded: Sequence[RecordedEvent], *, now: datetime | None = None) -> list[Checkpoint]:
    """Checkpoint the streams that `recorded` touched and that the policy says are due.

    An after-record hook (settings.SELFPLAY_AFTER_RECORD): it runs inside the recording
    transaction, so checkpoints commit with the events they cover. The due check is one query
    for all touched streams, and only the due ones are snapshotted. When the state backend is
    down the checkpoints are skipped (they stay due): a checkpoint store never halts the world.
    """
    if not recorded:
        return []
    now = now or timezone.now()
    causes: dict[str, RecordedEvent] = {}
    for event in recorded:
        last = causes.get(event.stream_id)
        if last is None or event.position > last.position:
            causes[event.stream_id] = event
    due = due_streams({stream_id: e.position for stream_id, e in causes.items()}, now=now)
    if not due:
        return []
    created, announced = _checkpoint_or_skip(due, now=now, causes=causes)
    # The checkpoint log is a stream too; it gets the same policy, once, never recursively.
    if announced and due_streams({CHECKPOINT_STREAM: announced[-1].position}, now=now):
        created += _checkpoint_or_skip([CHECKPOINT_STREAM], now=now, causes={})[0]
    return created


def _checkpoint_or_skip(stream_ids, *, now, causes):
    try:
        return _checkpoint(stream_ids, now=now, causes=causes)
    except StorageUnavailable:
        # Nothing was written: the storage is called before any row or event.
        logger.warning("checkpoints of %d streams skipped: their states cannot be stored",
                       len(stream_ids), exc_info=True)
        return [], []


@transaction.atomic
def create_checkpoint(stream_id: str, *, now: datetime | None = None, actor: str = "system") -> Checkpoint:
    """Checkpoint one stream at its head now, whatever the policy says; return the checkpoint.

    Raise NoCheckpoint when the stream has no events, and StorageUnavailable when the backend
    cannot store the state.
    """
    check_stream_id(stream_id)
    lock_writers()
    created, _ = _checkpoint([stream_id], now=now or timezone.now(), causes={}, actor=actor)
    if not created:
        raise NoCheckpoint(f"Stream {stream_id} has no events to checkpoint.", {"streamId": stream_id})
    return created[0]


def _checkpoint(stream_ids: Sequence[str], *, now: datetime, causes: Mapping[str, RecordedEvent],
                actor: str = "system") -> tuple[list[Checkpoint], list[RecordedEvent]]:
    """Snapshot existing streams, store, announce and prune; return (checkpoints, announcements)."""
    storage = default_storage()
    entries = []
    for stream_id, snapshot in sorted(snapshots(stream_ids).items()):
        text, digest = canonical_text(snapshot.state)
        checkpoint = Checkpoint(
            id=uuid.uuid4(), stream_id=stream_id, position=snapshot.position,
            global_position=snapshot.global_position, checksum=digest, created_at=now)
        entries.append(Entry(checkpoint, snapshot.state, text))
    if not entries:
        return [], []
    storage.save(entries)
    created = Checkpoint.objects.bulk_create([entry.checkpoint for entry in entries])
    # Each checkpoint also anchors its stream's head with the server key (events.anchors).
    anchor_heads([c.stream_id for c in created], now=now)
    _prune([c.stream_id for c in created], keep={c.pk for c in created}, now=now)
    # Recorded like any event; inside the recording of the events it checkpoints, the hooks (this
    # policy among them) do not run again for it.
    announced = record([(CHECKPOINT_STREAM, [_announcement(c, causes.get(c.stream_id), actor)
                                             for c in created], ANY)], now=now)
    return created, announced


def _announcement(checkpoint: Checkpoint, cause: RecordedEvent | None, actor: str) -> NewEvent:
    metadata = {"actor": actor}
    if cause is not None and cause.position == checkpoint.position:
        metadata["causationId"] = cause.id
        if cause.metadata.get("correlationId"):
            metadata["correlationId"] = cause.metadata["correlationId"]
    return NewEvent(CREATED, {
        "checkpointId": str(checkpoint.pk), "streamId": checkpoint.stream_id,
        "position": checkpoint.position, "globalPosition": checkpoint.global_position,
        "checksum": checkpoint.checksum,
    }, metadata)


def _prune(stream_ids: Sequence[str], *, keep: set, now: datetime) -> int:
    """Delete the checkpoints of these streams that nothing needs any more; return how many went.

    Kept: the newest `retention()` of each stream (newest by position, then creation; on a tie
    the checkpoints just made win); every checkpoint a still-valid token names, so a token
    resyncs for its whole lifetime; and, within the token lifetime, the newest checkpoint of each
    hour, so a page can go back in time cheaply. Older ones go.
    """
    ttl = timedelta(seconds=ttl_seconds())
    rows = (Checkpoint.objects.filter(stream_id__in=values_subquery(stream_ids))
            .values_list("id", "stream_id", "position", "created_at", "storage", "token_issued_at"))
    by_stream: dict[str, list[tuple]] = {}
    for row in rows:
        by_stream.setdefault(row[1], []).append(row)
    doomed: dict[str, list] = {}
    for group in by_stream.values():
        group.sort(key=lambda r: (r[2], r[3], r[0] in keep), reverse=True)
        hours_kept: set[datetime] = set()
        for index, (pk, _, _, created_at, storage, token_issued_at) in enumerate(group):
            hour = created_at.replace(minute=0, second=0, microsecond=0)
            if index < retention() or (token_issued_at is not None and now - token_issued_at < ttl):
                hours_kept.add(hour)
                continue
            if now - created_at < ttl and hour not in hours_kept:
                hours_kept.add(hour)
                continue
            doomed.setdefault(storage, []).append(pk)
    for storage, pks in doomed.items():
        storage_named(storage).delete([Checkpoint(pk=pk, storage=storage) for pk in pks])
        for start in range(0, len(pks), _DELETE_CHUNK):
            Checkpoint.objects.filter(pk__in=pks[start:start + _DELETE_CHUNK]).delete()
    return sum(len(pks) for pks in doomed.values())


def sync_for_client(*, token: str, client: Client, after: int | None = None,
                    limit: int = selectors.DEFAULT_SYNC_LIMIT):
    """Serve a /sync page and say which client used the token (checkpoints.signals).

    A token ahead of its stream's head is refused (400) and announced; neither signal changes
    the answer to a well-formed request.
    """
    try:
        page = selectors.sync(token=token, after=after, limit=limit)
    except TokenInvalid as exc:
        if exc.details.get("reason") == "ahead_of_head":
            payload = decode_token(token)
            signals.token_ahead_of_head.send(
                sender=sync_for_client, stream_id=payload.stream_id, position=exc.details["position"],
                head=exc.details["headPosition"], client=client)
        raise
    payload = decode_token(token)
    signals.token_used.send(sender=sync_for_client, stream_id=payload.stream_id,
                            checkpoint_id=payload.checkpoint_id,
                            token_issued_at=format_moment(payload.issued_at), client=client)
    return page
