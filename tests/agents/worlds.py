"""Helpers of the living-world tests: build regions, read streams, tamper with the log."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from django.core.management import call_command
from django.db.models import Q

from agents.models import Region
from agents.services import NewAgent, create_region, spawn_agents
from checkpoints.services import CHECKPOINT_STREAM, CREATED
from events.models import Event, Projection
from events.projections import reducer_event, registry
from events.store import read_all, read_stream


def make_region(region_id: str, *, epoch: datetime, agents: dict[str, str], seed: int = 11,
                side: int = 16, tick_seconds: int = 2) -> Region:
    """Create a region and spawn `agents` ({id: brain}) in it."""
    region = create_region(region_id=region_id, seed=seed, epoch=epoch, width=side, height=side,
                           tick_seconds=tick_seconds)
    spawn_agents(region_id=region_id, rng_seed=seed, agents=[
        NewAgent(id=agent_id, name=agent_id.title(), brain=brain) for agent_id, brain in agents.items()
    ])
    return region


def at(region: Region, ticks: float) -> datetime:
    """Return the moment `ticks` intervals after the region's epoch."""
    return region.epoch + timedelta(seconds=ticks * region.tick_seconds)


def events_of(stream_id: str, kind: str | None = None) -> list:
    events = read_stream(stream_id, limit=5000)
    return [e for e in events if kind is None or e.type == kind]


def world_state(region_id: str) -> dict:
    return Projection.objects.get(name="world", key=region_id).state


def projection_rows() -> dict[tuple[str, str], tuple[int, str]]:
    """Return every projection row's (global position, checksum), by (name, key)."""
    return {(p.name, p.key): (p.global_position, p.checksum) for p in Projection.objects.all()}


def event_count() -> int:
    return Event.objects.count()


def tick_event_count() -> int:
    """Count the events of the streams a tick writes (`world:*` and `agent:*`), nothing else."""
    return Event.objects.filter(
        Q(stream__id__startswith="world:") | Q(stream__id__startswith="agent:")).count()


def checkpoint_announcements() -> list:
    """Return the `checkpoint.created` events of the checkpoint log, in order."""
    return events_of(CHECKPOINT_STREAM, CREATED)


def projection_keys() -> set[tuple[str, str]]:
    """Return every (projection, key) that some recorded event touches, by the registered specs."""
    keys: set[tuple[str, str]] = set()
    after = 0
    while batch := read_all(after=after, limit=1000):
        for event in batch:
            for spec in registry().values():
                if spec.types is None or event.type in spec.types:
                    keys.update((spec.name, key) for key in spec.keys(reducer_event(event)))
        after = batch[-1].global_position
    return keys


def run_command(name: str, *args, **options) -> tuple[int, str, str]:
    """Run a management command; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=err, **options)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()

