"""Celery tasks: thin wrappers that take ids, call a service and own retries."""

from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .cadence import dispatch_window, due_moments, wait_until
from .capabilities.tasks import perform_capability, sweep_capabilities
from .models import Region
from .routing import planning_queue, route, tick_queue
from .services import plan_region, tick_region

__all__ = ["dispatch_planning_ticks", "dispatch_simulation_ticks", "perform_capability", "planning_tick",
           "simulation_tick", "sweep_capabilities"]


@shared_task(name="agents.simulation_tick")
def simulation_tick(region_id: str, due_at: str | None = None) -> dict:
    """Simulate the ticks of one region due now (one task per region per tick).

    `due_at` is the due moment the dispatch sent this task for (with that ETA); a task handed
    over a little early waits for it. Each tick is recorded at the wall clock.
    """
    if due_at is not None:
        wait_until(datetime.fromisoformat(due_at), clock=timezone.now,
                   limit=settings.SELFPLAY_SIM_TICK_SECONDS)
    report = tick_region(region_id=region_id, now=timezone.now(), clock=timezone.now)
    return {"region": region_id, "ticks": report.ticks, "skipped": report.skipped,
            "lostRace": report.lost_race, "events": report.events}


@shared_task(name="agents.planning_tick")
def planning_tick(region_id: str) -> int:
    """Ask a region's brains for plans; return how many were recorded.

    Routed to the "planning" queue (CELERY_TASK_ROUTES), which only the planner worker serves:
    a brain that plans for seconds never holds a process that runs simulation ticks."""
    return plan_region(region_id=region_id)


@shared_task(name="agents.dispatch_simulation_ticks")
def dispatch_simulation_ticks() -> int:
    """Beat's entry point: send each region's ticks due in this dispatch's window, timed to
    their due moments (agents/cadence.py); return how many were sent."""
    start, end = dispatch_window(timezone.now(), settings.SELFPLAY_SIM_TICK_SECONDS)
    sent = 0
    for region_id, epoch, tick_seconds in Region.objects.order_by("id").values_list("id", "epoch", "tick_seconds"):
        for _, due in due_moments(epoch, tick_seconds, start, end):
            # A tick not started within a few intervals is stale; the next one catches up instead.
            simulation_tick.apply_async((region_id, due.isoformat()), eta=due,
                                        expires=due + timedelta(seconds=tick_seconds * 5),
                                        **route(tick_queue(region_id)))
            sent += 1
    return sent


@shared_task(name="agents.dispatch_planning_ticks")
def dispatch_planning_ticks() -> int:
    regions = list(Region.objects.values_list("id", flat=True))
    for region_id in regions:
        planning_tick.apply_async((region_id,), expires=settings.SELFPLAY_PLAN_TICK_SECONDS,
                                  **route(planning_queue()))
    return len(regions)
