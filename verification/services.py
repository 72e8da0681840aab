"""The verification follower, flags and client sessions (DESIGN §7).

The follower reads the log after its cursor, analyses it (verification.analysis), and in ONE
transaction appends its flags and signal updates, folds them into projections and advances the
cursor — so it resumes exactly where it stopped and never reports an event twice. It only reads
what ticks wrote: a flagged stream goes on ticking.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events.store import ANY, NewEvent, read_all, record
from selfplay import redis_client
from selfplay.errors import SelfplayError

from . import clients
from .analysis import Analyzer
from .models import ClientSession, Flag, FollowerCursor

logger = logging.getLogger(__name__)
FOLLOWER = "verification"
FLAGS_STREAM = "verification:flags"
SIGNALS_STREAM = "verification:playerhood"
SYSTEM = {"actor": "system"}


@dataclass
class FollowReport:
    events: int = 0
    flags: int = 0
    signals: int = 0
    position: int = 0
    lost_race: bool = False


def follow(*, limit: int = 5000, max_batches: int = 20) -> FollowReport:
    """Analyse what the log gained since the last run; return what was found."""
    report = FollowReport()
    for _ in range(max_batches):
        batch = _follow_once(limit=limit)
        report.events += batch.events
        report.flags += batch.flags
        report.signals += batch.signals
        report.position = batch.position
        report.lost_race = batch.lost_race
        if batch.events < limit or batch.lost_race:
            break
    return report


def _follow_once(*, limit: int) -> FollowReport:
    cursor, _ = FollowerCursor.objects.get_or_create(name=FOLLOWER)
    start = cursor.position
    events = read_all(after=start, limit=limit)
    if not events:
        return FollowReport(position=start)
    analyzer = Analyzer(cursor.state or None, jitter_threshold_ms=settings.SELFPLAY_JITTER_THRESHOLD_MS)
    findings = analyzer.feed([e.to_wire() for e in events])
    end = events[-1].global_position
    with transaction.atomic():
        # Optimistic: a second follower that got here first has already written this batch.
        moved = FollowerCursor.objects.filter(name=FOLLOWER, position=start).update(
            position=end, state=analyzer.state)
        if not moved:
            return FollowReport(lost_race=True, position=start)
        for flag in findings.flags:
            raise_flag(kind=flag["kind"], subject=flag["subject"], details=flag["details"])
        if findings.signals:
            record([(SIGNALS_STREAM, [NewEvent("verification.signals.updated", s, SYSTEM)
                                      for s in findings.signals], ANY)])
    return FollowReport(events=len(events), flags=len(findings.flags), signals=len(findings.signals),
                        position=end)


@transaction.atomic
def raise_flag(*, kind: str, subject: str, details: dict, now: datetime | None = None) -> Flag:
    """Record `verification.flag.raised` and its Flag row; a session subject is marked suspect."""
    flag_id = str(uuid.uuid4())
    data = {"flagId": flag_id, "kind": kind, "subject": subject, "details": details}
    event = record([(FLAGS_STREAM, [NewEvent("verification.flag.raised", data, SYSTEM)], ANY)])[0]
    now = now or timezone.now()
    flag = Flag.objects.create(id=flag_id, kind=kind, subject=subject, details=details,
                               raised_at=now, raised_event_id=event.id)
    if subject.startswith("session:"):
        # A session has a row once it is flagged: its lineage so far, and why it is suspect.
        session_id = subject.partition(":")[2]
        marked = {"last_seen": now, "tokens": clients.lineage(session_id), "suspect": True,
                  "suspect_reason": f"{kind}: flag {flag_id}"}
        ClientSession.objects.update_or_create(id=session_id, defaults=marked,
                                               create_defaults={**marked, "first_seen": now})
    return flag


def acknowledge_flag(*, flag: Flag, operator: str, note: str) -> Flag:
    """Record that an operator has seen a flag (with a note); it stays open for scoring."""
    return _close(flag, operator, note, "verification.flag.acknowledged", Flag.Status.ACKNOWLEDGED)


def resolve_flag(*, flag: Flag, operator: str, note: str) -> Flag:
    """Record that a flag is dealt with; a session with no open flag left is no longer suspect."""
    flag = _close(flag, operator, note, "verification.flag.resolved", Flag.Status.RESOLVED)
    if flag.subject.startswith("session:") and not Flag.objects.filter(
            subject=flag.subject, status=Flag.Status.OPEN).exists():
        ClientSession.objects.filter(id=flag.subject.partition(":")[2]).update(suspect=False, suspect_reason="")
    return flag


@transaction.atomic
def _close(flag: Flag, operator: str, note: str, event_type: str, status: str) -> Flag:
    _require_note(note)
    record([(FLAGS_STREAM, [NewEvent(event_type, {"flagId": str(flag.id), "subject": flag.subject, "note": note},
                                     {"actor": operator})], ANY)])
    now = timezone.now()
    if status == Flag.Status.ACKNOWLEDGED:
        flag.acknowledged_by, flag.acknowledged_at = operator, now
    else:
        flag.resolved_by, flag.resolved_at = operator, now
    flag.status, flag.note = status, note
    flag.save()
    return flag


def _require_note(note: str) -> None:
    if not (note or "").strip():
        raise SelfplayError("A note is required.", {"note": "required"})


# --- token lineage per client (checkpoints.signals receivers, wired in selfplay.web) -----------


def note_token_use(*, client, stream_id: str, checkpoint_id: str, token_issued_at: str,
                   now: datetime | None = None, **kwargs) -> Flag | None:
    """Follow a client session's token lineage; flag one token used by two sessions at once.

    At most one `token_shared` flag per token per window: later sightings update that flag's
    row (how many sessions, when last seen) and write nothing to the log. The flag names the
    session that made it shared, never the other sessions.
    """
    if not client.session_id:
        return None
    now = now or timezone.now()
    token_key = f"{checkpoint_id}|{token_issued_at}"
    session = clients.session_ref(client.session_id)
    try:
        others = clients.note_use(session_id=session, token_key=token_key, now=now.timestamp())
        if others == 0:
            return None
        details = {"streamId": stream_id, "checkpointId": checkpoint_id, "sessions": others + 1,
                   "lastSeenAt": now.isoformat()}
        existing = clients.claim_report("token_shared", token_key)
        if existing is None:
            if not clients.within_flag_budget():
                return None
            flag = raise_flag(kind="token_shared", subject=f"session:{session}", details=details, now=now)
            clients.remember_report("token_shared", token_key, str(flag.id))
            return flag
        if existing != clients.PENDING:
            _update_details(existing, details)
    except redis_client.ERRORS as exc:
        logger.warning("token lineage not tracked (Redis: %s)", exc)
    return None


def note_token_ahead(*, client, stream_id: str, position: int, head: int, **kwargs) -> Flag | None:
    """A token claims a position its stream has not reached: flag the client, once per window.

    The subject is the client (a digest of its session id, else of its address), never the agent
    of the stream: a request proves nothing about the agent, so it must not demote it.
    """
    subject = (f"session:{clients.session_ref(client.session_id)}" if client.session_id
               else "client:" + hashlib.sha256(client.address.encode()).hexdigest()[:16])
    try:
        if clients.claim_report("token_ahead_of_head", f"{subject}|{stream_id}") is not None:
            return None
        if not clients.within_flag_budget():
            return None
    except redis_client.ERRORS as exc:
        logger.warning("token ahead of head not flagged (Redis: %s)", exc)
        return None
    return raise_flag(kind="token_ahead_of_head", subject=subject,
                      details={"streamId": stream_id, "tokenPosition": position, "headPosition": head})


@transaction.atomic
def _update_details(flag_id: str, details: dict) -> None:
    flag = Flag.objects.select_for_update().filter(id=flag_id).first()
    if flag is not None:
        flag.details = {**flag.details, **details}
        flag.save(update_fields=["details"])
