"""Writes of the checkpoint manager: snapshots by policy (DESIGN §7), on demand, and retention.

Each checkpoint is announced by `checkpoint.created {checkpointId, streamId, position,
globalPosition, checksum}` in the stream `system:checkpoints`, appended with `append_batch` and
folded with `project` rather than `record()`: the after-record hooks never run for it, so the
policy cannot recurse into itself.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events.projections import lock_writers, project
from events.publish import publish
from events.store import ANY, NewEvent, RecordedEvent, append_batch
from selfplay.canonical import canonical_text

from . import selectors
from .exceptions import NoCheckpoint, TokenInvalid
from .models import Checkpoint
from .selectors import due_streams
from .storage import Entry, StorageUnavailable, default_storage, storage_named
from .streams import check_stream_id, snapshots, values_subquery
from .tokens import decode_token, format_moment

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
    _prune([c.stream_id for c in created], keep={c.pk for c in created})
    announced = append_batch([(CHECKPOINT_STREAM, [_announcement(c, causes.get(c.stream_id), actor)
                                                   for c in created], ANY)])
    project(announced)
    transaction.on_commit(partial(publish, announced))
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


def _prune(stream_ids: Sequence[str], *, keep: set) -> int:
    """Delete all but the newest `retention()` checkpoints of each stream; return how many went.

    Newest is by position, then creation time; on a tie the checkpoints just made win.
    """
    rows = (Checkpoint.objects.filter(stream_id__in=values_subquery(stream_ids))
            .values_list("id", "stream_id", "position", "created_at", "storage"))
    by_stream: dict[str, list[tuple]] = {}
    for row in rows:
        by_stream.setdefault(row[1], []).append(row)
    doomed: dict[str, list] = {}
    for group in by_stream.values():
        group.sort(key=lambda r: (r[2], r[3], r[0] in keep), reverse=True)
        for pk, _, _, _, storage in group[retention():]:
            doomed.setdefault(storage, []).append(pk)
    for storage, pks in doomed.items():
        storage_named(storage).delete([Checkpoint(pk=pk, storage=storage) for pk in pks])
        for start in range(0, len(pks), _DELETE_CHUNK):
            Checkpoint.objects.filter(pk__in=pks[start:start + _DELETE_CHUNK]).delete()
    return sum(len(pks) for pks in doomed.values())


def sync_for_client(*, token: str, after: int | None = None, limit: int = selectors.DEFAULT_SYNC_LIMIT,
                    session_id: str | None = None):
    """Serve a /sync page and tell the continuity tracker which client session used the token.

    A token ahead of its stream's head is refused (400) and flagged; one token used by two
    sessions at once is flagged. Neither stops the answer to a well-formed request.
    """
    from verification.services import note_token_ahead, note_token_use

    try:
        page = selectors.sync(token=token, after=after, limit=limit)
    except TokenInvalid as exc:
        if exc.details.get("reason") == "ahead_of_head":
            payload = decode_token(token)
            note_token_ahead(session_id=session_id, stream_id=payload.stream_id,
                             position=exc.details["position"], head=exc.details["headPosition"])
        raise
    if session_id:
        payload = decode_token(token)
        note_token_use(session_id=session_id, checkpoint_id=payload.checkpoint_id,
                       token_issued_at=format_moment(payload.issued_at), stream_id=payload.stream_id)
    return page
