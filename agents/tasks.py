"""Celery tasks: thin wrappers that take ids, call a service and own retries."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .models import Region
from .services import plan_region, tick_region


@shared_task(name="agents.simulation_tick")
def simulation_tick(region_id: str) -> dict:
    """Simulate the ticks of one region due now (one task per region per tick)."""
    report = tick_region(region_id=region_id, now=timezone.now())
    return {"region": region_id, "ticks": report.ticks, "skipped": report.skipped,
            "lostRace": report.lost_race, "events": report.events}


@shared_task(name="agents.planning_tick")
def planning_tick(region_id: str) -> int:
    return plan_region(region_id=region_id)


@shared_task(name="agents.dispatch_simulation_ticks")
def dispatch_simulation_ticks() -> int:
    """Beat's entry point: enqueue one simulation tick per region."""
    regions = list(Region.objects.values_list("id", flat=True))
    for region_id in regions:
        # A tick not started within a few intervals is stale; the next one catches up instead.
        simulation_tick.apply_async((region_id,), expires=settings.SELFPLAY_SIM_TICK_SECONDS * 5)
    return len(regions)


@shared_task(name="agents.dispatch_planning_ticks")
def dispatch_planning_ticks() -> int:
    regions = list(Region.objects.values_list("id", flat=True))
    for region_id in regions:
        planning_tick.apply_async((region_id,), expires=settings.SELFPLAY_PLAN_TICK_SECONDS)
    return len(regions)
