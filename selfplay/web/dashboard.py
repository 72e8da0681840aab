"""The operator's dashboard data, refreshed by the admin index page every few seconds."""

from django.contrib.admin.views.decorators import staff_member_required
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .overview import trends, world_status


@require_GET
@never_cache
@staff_member_required
def overview_json(request):
    """The whole overview and the last hour's trends, as the dashboard draws them."""
    now = timezone.now()
    return JsonResponse({"status": world_status(now=now), "trends": trends(now=now)})
