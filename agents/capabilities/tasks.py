"""Celery tasks of capabilities, on their own queue ("capabilities"): thin, as every task here."""

from celery import shared_task

from . import services
from .tick import PERFORM_TASK


@shared_task(name=PERFORM_TASK)
def perform_capability(request: dict) -> str:
    """Perform one recorded capability request and record its result (at most one)."""
    return services.perform(request)


@shared_task(name="agents.sweep_capabilities")
def sweep_capabilities() -> int:
    """Beat's entry point: send again the requests left pending (a lost message, a dead worker)."""
    return services.sweep()
