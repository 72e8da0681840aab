"""Celery tasks of the event store: thin, as every task here."""

from celery import shared_task

from . import partitions


@shared_task(name="events.ensure_partitions")
def ensure_partitions() -> list[str]:
    """Beat's entry point: keep empty partitions of the log ahead of its head (PostgreSQL)."""
    return partitions.ensure()
