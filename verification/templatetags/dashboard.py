"""The admin index dashboard: ticks per minute, lag, open flags, playerhood distribution."""

from django import template
from django.utils import timezone

from agents.models import Region
from agents.selectors import region_status

from ..selectors import (
    open_flags,
    playerhood_distribution,
    recent_completions,
    region_continuity,
    ticks_per_minute,
)

register = template.Library()


@register.inclusion_tag("admin/selfplay_dashboard.html")
def selfplay_dashboard():
    now = timezone.now()
    regions = []
    for region in Region.objects.all():
        status = region_status(region, now=now)
        completions = recent_completions(region)
        continuity = region_continuity(region, completions)
        regions.append({**status, "ticksPerMinute": ticks_per_minute(completions, now=now),
                        "p50": continuity["latenessP50Ms"], "p99": continuity["latenessP99Ms"],
                        "caughtUp": continuity["caughtUpTicks"], "skipped": continuity["skippedTicks"]})
    distribution = playerhood_distribution()
    total = sum(distribution.values()) or 1
    bars = [{"status": status, "count": count, "percent": round(100 * count / total)}
            for status, count in distribution.items()]
    return {"regions": regions, "flags": open_flags(), "bars": bars}
