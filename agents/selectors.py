"""Reads about the living world for operators: region cadence, lag and counts."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q

from events.models import Event, Projection, Stream
from events.selectors import head_global_position

from .models import Agent, Region
from .services import due_tick


def region_status(region: Region, *, now: datetime) -> dict:
    row = Projection.objects.filter(name="world", key=region.id).values("state").first()
    last_tick = row["state"]["tick"] if row else 0
    last_completed = (Event.objects.filter(stream_id=region.stream_id, type="world.tick.completed")
                      .order_by("-position").values_list("recorded_at", flat=True).first())
    counts = Agent.objects.filter(region=region).aggregate(
        total=Count("id"), active=Count("id", filter=Q(status=Agent.Status.ACTIVE)))
    due = due_tick(region, now)
    return {
        "region": region.id,
        "lastTick": last_tick,
        "dueTick": due,
        "lagTicks": max(0, due - last_tick),
        "cadenceSeconds": region.tick_seconds,
        "lastTickAt": last_completed.isoformat() if last_completed else None,
        "agents": counts["total"],
        "activeAgents": counts["active"],
    }


def world_status(*, now: datetime) -> dict:
    """Return the operator's overview: regions, agents, streams, events, checkpoints, flags."""
    from checkpoints.models import Checkpoint
    from verification import selectors as verification

    regions = []
    for region in Region.objects.all():
        completions = verification.recent_completions(region)
        regions.append({**region_status(region, now=now),
                        "ticksPerMinute": verification.ticks_per_minute(completions, now=now),
                        "continuity": verification.region_continuity(region, completions)})
    return {
        "now": now.isoformat(),
        "regions": regions,
        "agents": Agent.objects.count(),
        "streams": Stream.objects.count(),
        "events": Event.objects.count(),
        "headGlobalPosition": head_global_position(),
        "checkpoints": Checkpoint.objects.count(),
        "openFlags": verification.open_flags(),
        "playerhood": verification.playerhood_distribution(),
        "suspectSessions": verification.suspect_sessions(),
    }
