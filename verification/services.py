"""The verification follower, flags and client sessions (DESIGN §7).

The follower reads the log after its cursor, analyses it (verification.analysis), and in ONE
transaction appends its flags and signal updates, folds them into projections and advances the
cursor — so it resumes exactly where it stopped and never reports an event twice. It only reads
what ticks wrote: a flagged stream goes on ticking.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events.recording import record
from events.store import ANY, NewEvent, read_all

from .analysis import Analyzer
from .models import ClientSession, Flag, FollowerCursor, TokenUse

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
    flag = Flag.objects.create(id=flag_id, kind=kind, subject=subject, details=details,
                               raised_at=now or timezone.now(), raised_event_id=event.id)
    if subject.startswith("session:"):
        ClientSession.objects.filter(id=subject.partition(":")[2]).update(
            suspect=True, suspect_reason=f"{kind}: flag {flag_id}")
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
        raise ValueError("a note is required")


# --- token lineage per client session --------------------------------------------------------


@transaction.atomic
def note_token_use(*, session_id: str | None, checkpoint_id: str, token_issued_at: str,
                   stream_id: str, now: datetime | None = None) -> ClientSession | None:
    """Record that a client session used a token; flag one token used by two sessions at once."""
    if not session_id:
        return None
    now = now or timezone.now()
    session, _ = ClientSession.objects.select_for_update().get_or_create(
        id=session_id[:64], defaults={"first_seen": now, "last_seen": now})
    if session.tokens[-1:] != [checkpoint_id]:
        session.tokens = [*session.tokens, checkpoint_id][-50:]
    session.last_seen = now
    session.save()
    key = f"{checkpoint_id}|{token_issued_at}"
    since = now - timedelta(seconds=settings.SELFPLAY_TOKEN_SHARED_WINDOW_SECONDS)
    others = sorted(TokenUse.objects.filter(token_key=key, last_used__gte=since)
                    .exclude(session=session).values_list("session_id", flat=True))
    TokenUse.objects.update_or_create(token_key=key, session=session, defaults={"last_used": now})
    if others:
        raise_flag(kind="token_shared", subject=f"session:{session.id}", now=now,
                   details={"streamId": stream_id, "checkpointId": checkpoint_id, "otherSessions": others})
    return session


@transaction.atomic
def note_token_ahead(*, session_id: str | None, stream_id: str, position: int, head: int) -> Flag:
    """A token claims a position the stream has not reached: flag it (and its session)."""
    subject = f"session:{session_id[:64]}" if session_id else stream_id
    if session_id:
        now = timezone.now()
        ClientSession.objects.get_or_create(id=session_id[:64], defaults={"first_seen": now, "last_seen": now})
    return raise_flag(kind="token_ahead_of_head", subject=subject,
                      details={"streamId": stream_id, "tokenPosition": position, "headPosition": head})
