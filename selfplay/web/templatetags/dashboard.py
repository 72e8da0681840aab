"""The admin index dashboard: regions, health, flags, playerhood, and the last hour's trends.

Rendered once with the page, then refreshed every few seconds by static/js/dashboard.js from
`selfplay.web.dashboard.overview_json`.
"""

from django import template
from django.utils import timezone

from ..overview import world_status

register = template.Library()


@register.inclusion_tag("admin/selfplay_dashboard.html")
def selfplay_dashboard():
    status = world_status(now=timezone.now())
    distribution = status["playerhood"]
    total = sum(distribution.values()) or 1
    bars = [{"status": name, "count": count, "percent": round(100 * count / total)}
            for name, count in distribution.items()]
    return {"status": status, "regions": status["regions"], "flags": status["flags"], "bars": bars,
            "warnings": status["warnings"]}
