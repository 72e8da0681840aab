"""Continuity reads for operators: cadence lateness, recovery after downtime, lineages, flags."""

from __future__ import annotations

from datetime import datetime

from events.models import Event, Projection

from .analysis import percentile
from .models import ClientSession, Flag

RECENT_TICKS = 200


def recent_completions(region) -> list[tuple[dict, datetime]]:
    """Return (data, recorded_at) of the region's last RECENT_TICKS completed ticks, oldest first."""
    rows = list(Event.objects.filter(stream_id=region.stream_id, type="world.tick.completed")
                .order_by("-position").values_list("data", "recorded_at")[:RECENT_TICKS])
    rows.reverse()
    return rows


def region_continuity(region, rows: list[tuple[dict, datetime]] | None = None) -> dict:
    """Return cadence lateness p50/p99 and recovery after downtime for a region."""
    rows = recent_completions(region) if rows is None else rows
    interval = region.tick_seconds
    lateness = [max(0, round((recorded_at.timestamp() - region.epoch.timestamp() - data["tick"] * interval) * 1000))
                for data, recorded_at in rows]
    # Beat runs on its own phase: a tick counts as caught up when it ran a whole interval later
    # than the usual (median) lateness, not merely later than its due time.
    usual = percentile(lateness, 50)
    incidents, current = [], None
    for (data, _), late_ms in zip(rows, lateness, strict=True):
        tick = data["tick"]
        if late_ms - usual >= interval * 1000:
            if current is None:
                current = {"fromTick": tick, "toTick": tick, "ticks": 0, "catchUpSeconds": round(late_ms / 1000, 3)}
                incidents.append(current)
            current["toTick"], current["ticks"] = tick, current["ticks"] + 1
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


def open_flags() -> dict:
    flags = Flag.objects.exclude(status=Flag.Status.RESOLVED)
    by_kind: dict[str, int] = {}
    for kind in flags.values_list("kind", flat=True):
        by_kind[kind] = by_kind.get(kind, 0) + 1
    return {"total": sum(by_kind.values()), "byKind": by_kind}


def playerhood_distribution() -> dict:
    totals = {"verified": 0, "provisional": 0, "suspect": 0}
    for state in Projection.objects.filter(name="playerhood").values_list("state", flat=True):
        for status, count in state.get("distribution", {}).items():
            totals[status] = totals.get(status, 0) + count
    return totals


def suspect_sessions() -> list[dict]:
    return [{"session": s.id, "reason": s.suspect_reason, "tokens": len(s.tokens)}
            for s in ClientSession.objects.filter(suspect=True)[:20]]


def checkpoint_lineage(stream_id: str) -> list[dict]:
    """Return a stream's checkpoints oldest first; positions must only grow."""
    from checkpoints.models import Checkpoint

    return [{"id": str(c["id"]), "position": c["position"], "checksum": c["checksum"]}
            for c in Checkpoint.objects.filter(stream_id=stream_id).order_by("position")
            .values("id", "position", "checksum")]
