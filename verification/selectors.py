"""Continuity reads for operators: cadence lateness, recovery after downtime, lineages, flags."""

from __future__ import annotations

from datetime import datetime

from events.models import Event, Projection

from .analysis import percentile
from .models import ClientSession, Flag, FollowerCursor

RECENT_TICKS = 200


def recent_completions(region) -> list[tuple[dict, datetime]]:
    """Return (data, recorded_at) of the region's last RECENT_TICKS completed ticks, oldest first.

    Only this daemon's own: the ticks of a log it adopted (before `world.imported`) were all
    recorded at the import, and say nothing of its cadence."""
    ticks = Event.objects.filter(stream_id=region.stream_id, type="world.tick.completed")
    adopted = (Event.objects.filter(stream_id=region.stream_id, type="world.imported")
               .order_by("-position").values_list("position", flat=True).first())
    if adopted is not None:
        ticks = ticks.filter(position__gt=adopted)
    rows = list(ticks.order_by("-position").values_list("data", "recorded_at")[:RECENT_TICKS])
    rows.reverse()
    return rows


def lateness_ms(region, tick: int, recorded_at: datetime) -> int:
    """How long after its due moment (epoch + tick × cadence) a tick was recorded, in ms (≥ 0)."""
    due = region.epoch.timestamp() + tick * region.tick_seconds
    return max(0, round((recorded_at.timestamp() - due) * 1000))


def completions_since(region, since: datetime) -> list[tuple[int, datetime, int]]:
    """Return (tick, recorded_at, global position) of the region's ticks completed since `since`."""
    rows = (Event.objects.filter(stream_id=region.stream_id, type="world.tick.completed", recorded_at__gte=since)
            .order_by("position").values_list("data", "recorded_at", "global_position"))
    return [(data["tick"], recorded_at, global_position) for data, recorded_at, global_position in rows]


def open_flags_at(moments: list[datetime]) -> list[int]:
    """Return how many flags were open (raised, not yet acknowledged or resolved) at each moment."""
    rows = list(Flag.objects.values_list("raised_at", "acknowledged_at", "resolved_at"))
    counts = []
    for moment in moments:
        counts.append(sum(1 for raised, acknowledged, resolved in rows if raised <= moment
                          and not (acknowledged and acknowledged <= moment) and not (resolved and resolved <= moment)))
    return counts


def region_continuity(region, rows: list[tuple[dict, datetime]] | None = None) -> dict:
    """Return cadence lateness p50/p99 and recovery after downtime for a region."""
    rows = recent_completions(region) if rows is None else rows
    interval = region.tick_seconds
    lateness = [lateness_ms(region, data["tick"], recorded_at) for data, recorded_at in rows]
    # Ticks fire at their due moments (agents/beat.py), so a tick counts as caught up when it was
    # recorded a whole interval or more after it was due: after its successor was already due.
    incidents, current, started = [], None, None
    for (data, recorded_at), late_ms in zip(rows, lateness, strict=True):
        tick = data["tick"]
        if late_ms >= interval * 1000:
            if current is None:
                current = {"fromTick": tick, "toTick": tick, "ticks": 0,
                           "firstTickLateSeconds": round(late_ms / 1000, 3), "catchUpSeconds": 0.0}
                started = recorded_at
                incidents.append(current)
            # How long the backlog took: from the first caught-up tick to the latest one.
            current["toTick"], current["ticks"] = tick, current["ticks"] + 1
            current["catchUpSeconds"] = round((recorded_at - started).total_seconds(), 3)
        else:
            current = None
    skipped = [{"fromTick": d["fromTick"], "toTick": d["toTick"], "reason": d.get("reason")}
               for d in Event.objects.filter(stream_id=region.stream_id, type="world.ticks.skipped")
               .order_by("position").values_list("data", flat=True)]
    return {
        "latenessP50Ms": percentile(lateness, 50),
        "latenessP99Ms": percentile(lateness, 99),
        "ticksMeasured": len(lateness),
        "caughtUpTicks": sum(i["ticks"] for i in incidents),
        "recoveries": incidents[-10:],
        "skippedRanges": skipped[-10:],
        "skippedTicks": sum(s["toTick"] - s["fromTick"] + 1 for s in skipped),
    }


def ticks_per_minute(rows: list[tuple[dict, datetime]], *, now: datetime) -> int:
    """Return how many of these completed ticks were recorded in the minute before `now`."""
    since = now.timestamp() - 60
    return sum(1 for _, recorded_at in rows if recorded_at.timestamp() >= since)


def flag_counts() -> dict:
    """Return flags counted apart by status, and the open ones by kind.

    An acknowledged flag has been seen by an operator but not dealt with: it is not open any
    more, and not resolved either (it still counts against its subject's playerhood).
    """
    rows = Flag.objects.values_list("status", "kind")
    counts = {status: 0 for status in Flag.Status.values}
    open_by_kind: dict[str, int] = {}
    for status, kind in rows:
        counts[status] += 1
        if status == Flag.Status.OPEN:
            open_by_kind[kind] = open_by_kind.get(kind, 0) + 1
    return {**counts, "openByKind": dict(sorted(open_by_kind.items()))}


def unresolved_flags(subjects: list[str]) -> list[Flag]:
    """Return the flags about these subjects that are not resolved yet (open or acknowledged)."""
    return list(Flag.objects.exclude(status=Flag.Status.RESOLVED).filter(subject__in=subjects))


def playerhood_distribution() -> dict:
    totals = {"verified": 0, "provisional": 0, "suspect": 0}
    for state in Projection.objects.filter(name="playerhood").values_list("state", flat=True):
        for status, count in state.get("distribution", {}).items():
            totals[status] = totals.get(status, 0) + count
    return totals


def suspect_sessions() -> list[dict]:
    return [{"session": s.id, "reason": s.suspect_reason, "tokens": len(s.tokens)}
            for s in ClientSession.objects.filter(suspect=True)[:20]]


def follower_positions() -> list[dict]:
    """Return each log follower's cursor: its name, the global position it reached, and when."""
    return [{"name": name, "position": position, "updatedAt": updated_at.isoformat() if updated_at else None}
            for name, position, updated_at in
            FollowerCursor.objects.order_by("name").values_list("name", "position", "updated_at")]
