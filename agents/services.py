"""Writes of the living world: regions, agents and the tick (DESIGN §4)."""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.db import transaction

from events.projections import load_state
from events.recording import record
from events.store import ANY, NO_STREAM, NewEvent, WrongExpectedVersion, stream_version
from selfplay import world

from . import runtime
from .models import Agent, PendingCommand, Region

logger = logging.getLogger(__name__)
SYSTEM = {"actor": "system"}
_CORRELATION_NAMESPACE = uuid.UUID("6f1c0000-5e1f-4a1a-9000-000000000001")


def tick_correlation_id(region_id: str, tick: int) -> str:
    """Return the correlation id shared by every event of one region's tick."""
    return str(uuid.uuid5(_CORRELATION_NAMESPACE, f"world:{region_id}:tick:{tick}"))


# --- setting up a world ------------------------------------------------------------------


@transaction.atomic
def create_region(*, region_id: str, seed: int, epoch: datetime, width: int = 48, height: int = 32,
                  tick_seconds: int | None = None) -> Region:
    """Create a region and record `world.created` as the first event of its stream."""
    data = world.new_region(region_id, seed=seed, width=width, height=height)
    region = Region.objects.create(id=region_id, seed=seed, width=width, height=height, epoch=epoch,
                                   tick_seconds=tick_seconds or settings.SELFPLAY_SIM_TICK_SECONDS)
    data["epoch"] = epoch.isoformat()
    data["tickSeconds"] = region.tick_seconds
    record([(region.stream_id, [NewEvent("world.created", data, SYSTEM)], NO_STREAM)])
    return region


@dataclass(frozen=True)
class NewAgent:
    id: str
    name: str
    brain: str
    owner_id: int | None = None


@transaction.atomic
def spawn_agents(*, region_id: str, agents: list[NewAgent], rng_seed: int) -> list[Agent]:
    """Create agents on free tiles of a region, recording `agent.spawned` in the world stream."""
    region = Region.objects.select_for_update().get(id=region_id)
    for new in agents:
        runtime.brain_named(new.brain)  # fail before writing anything
    state, _ = load_state("world", region_id)
    positions = world.spawn_positions(state, len(agents), rng=random.Random(rng_seed))
    created, events = [], []
    for new, (x, y) in zip(agents, positions, strict=True):
        agent = Agent.objects.create(id=new.id, name=new.name, region=region, brain=new.brain,
                                     owner_id=new.owner_id)
        created.append(agent)
        events.append(NewEvent("agent.spawned", {
            "agentId": agent.id, "name": agent.name, "region": region_id, "brain": agent.brain,
            "owner": agent.owner.username if agent.owner else None, "x": x, "y": y,
        }, SYSTEM))
    record([(region.stream_id, events, stream_version(region.stream_id))])
    return created


# --- the tick ----------------------------------------------------------------------------


@dataclass
class TickReport:
    region: str
    ticks: list[int] = field(default_factory=list)
    skipped: tuple[int, int] | None = None
    lost_race: bool = False
    events: int = 0


def due_tick(region: Region, now: datetime) -> int:
    """Return the number of the last tick due at `now` (whole intervals since the epoch)."""
    return max(0, math.floor((now - region.epoch).total_seconds() / region.tick_seconds))


def tick_region(*, region_id: str, now: datetime, max_catchup: int | None = None) -> TickReport:
    """Simulate every tick of a region due at `now`, each in its own transaction.

    After downtime at most `max_catchup` missed ticks are simulated; older ones are recorded
    as `world.ticks.skipped`. Losing the race to another worker stops quietly.
    """
    max_catchup = settings.SELFPLAY_MAX_CATCHUP_TICKS if max_catchup is None else max_catchup
    region = Region.objects.get(id=region_id)
    report = TickReport(region_id)
    due = due_tick(region, now)
    try:
        while True:
            state, _ = load_state("world", region_id)
            last = state["tick"]
            if due <= last:
                return report
            if due - last > max_catchup:
                report.skipped = (last + 1, due - max_catchup)
                report.events += _skip_ticks(region, last + 1, due - max_catchup)
                continue
            report.events += run_tick(region=region, tick=last + 1)
            report.ticks.append(last + 1)
    except WrongExpectedVersion:
        logger.info("region %s: another worker recorded this tick first; stopping", region_id)
        report.lost_race = True
        return report


@transaction.atomic
def _skip_ticks(region: Region, from_tick: int, to_tick: int) -> int:
    head = stream_version(region.stream_id)
    data = {"fromTick": from_tick, "toTick": to_tick, "reason": "downtime"}
    logger.warning("region %s: skipping ticks %d..%d after downtime", region.id, from_tick, to_tick)
    record([(region.stream_id, [NewEvent("world.ticks.skipped", data, SYSTEM)], head)])
    return 1


def run_tick(*, region: Region, tick: int) -> int:
    """Run one tick of a region (DESIGN §4 steps 1–7) in one transaction; return events written."""
    # A tick allocates tens of thousands of small containers, most of which live on in the new
    # state; the cyclic collector would rescan them again and again mid-tick (a third of a
    # 10,000-agent tick). Nothing here builds cycles, so collection waits until the tick ends.
    with paused_gc():
        return _run_tick(region=region, tick=tick)


@contextlib.contextmanager
def paused_gc():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@transaction.atomic
def _run_tick(*, region: Region, tick: int) -> int:
    started = time.perf_counter()
    # Commands lock the same row before reading the tick they promise (appliesAtTick), so a
    # command is either seen by this tick or promised to the next one, never lost in between.
    Region.objects.select_for_update().filter(pk=region.pk).first()
    head = stream_version(region.stream_id)
    state, _ = load_state("world", region.id)
    if state["tick"] >= tick:
        raise WrongExpectedVersion(region.stream_id, f"tick {tick}", head)
    correlation = tick_correlation_id(region.id, tick)
    # Plain rows, not model instances: a 10,000-agent tick should not build 10,000 models.
    agents = {row.id: row for row in _agent_rows(region)}
    world_events = _status_changes(state, agents, tick, correlation)
    if world_events:
        state = world.fold("world", state, [(e.type, e.data) for e in world_events])
    pending = _take_pending(region, tick)
    plans = _plans(region.id)

    decisions: dict[str, object] = {}
    agent_items = []
    causes: dict[str, str] = {}
    for agent_id in sorted(state["agents"]):
        agent = agents.get(agent_id)
        command = pending.get(agent_id)
        # A paused agent sits out, but a command already accepted for it is still recorded
        # and evaluated, so its sender sees it fail ("agent_paused") instead of vanish.
        if agent is None or (agent.status != Agent.Status.ACTIVE and command is None):
            continue
        data = {"tick": tick, "region": region.id}
        metadata = {"actor": f"agent:{agent_id}", "tick": tick, "correlationId": correlation}
        if command is not None:
            data.update(action=command.action, source=command.source)
            metadata.update(actor=command.actor, causationId=command.event_id)
            action = command.action
        else:
            ctx = runtime.context(agent_id, state, plans.get(agent_id), tick=tick)
            action, error = runtime.decide(agent.brain, ctx, state)
            data.update(action=action, source="brain")
            if error:
                data["brainError"] = error
        event_id = str(uuid.uuid4())
        # The outcome names its cause: the command for an override or external decision,
        # otherwise the brain's recorded decision.
        causes[agent_id] = command.event_id if command is not None else event_id
        decisions[agent_id] = action
        agent_items.append((f"agent:{agent_id}", [NewEvent("agent.action.submitted", data, metadata, id=event_id)]))

    seed = world.tick_seed(state["seed"], tick)
    outcomes = world.evaluate_tick(state, decisions, tick=tick, seed=seed)
    for kind, data in outcomes:
        world_events.append(NewEvent(kind, data, {
            "actor": "system", "tick": tick, "correlationId": correlation,
            "causationId": causes.get(data["agentId"]),
        }))
    duration_ms = round((time.perf_counter() - started) * 1000)
    completed, after = world.close_tick(state, outcomes, tick=tick, duration_ms=duration_ms)
    world_events.append(NewEvent("world.tick.completed", completed,
                                 {"actor": "system", "tick": tick, "correlationId": correlation}))
    items = [(stream, events, ANY) for stream, events in agent_items]
    items.append((region.stream_id, world_events, head))
    recorded = record(items, known_states={("world", region.id): after}, fresh_ids=True)
    logger.info("region %s tick %d: %d agents, %d events, %d ms", region.id, tick, len(decisions),
                len(recorded), round((time.perf_counter() - started) * 1000))
    return len(recorded)


class _AgentRow(NamedTuple):
    id: str
    brain: str
    status: str


def _agent_rows(region: Region) -> list[_AgentRow]:
    return [_AgentRow(*row) for row in Agent.objects.filter(region=region).values_list("id", "brain", "status")]


def _status_changes(state: dict, agents: dict[str, _AgentRow], tick: int, correlation: str) -> list[NewEvent]:
    """Return world events that bring paused/resumed agents in line with their agent streams."""
    changes = []
    for agent_id, entry in sorted(state["agents"].items()):
        agent = agents.get(agent_id)
        if agent is not None and entry.get("status") != agent.status:
            kind = "agent.paused" if agent.status == Agent.Status.PAUSED else "agent.resumed"
            changes.append(NewEvent(kind, {"agentId": agent_id, "region": state["region"], "tick": tick},
                                    {"actor": "system", "tick": tick, "correlationId": correlation}))
    return changes


def _take_pending(region: Region, tick: int) -> dict[str, PendingCommand]:
    """Remove and return the commands due at this tick, one per agent (overrides first)."""
    rows = list(PendingCommand.objects.filter(agent__region=region, applies_at_tick__lte=tick)
                .order_by("applies_at_tick", "source", "id"))
    chosen: dict[str, PendingCommand] = {}
    for row in rows:
        current = chosen.get(row.agent_id)
        if current is None or (row.source == PendingCommand.Source.OVERRIDE
                               and current.source != PendingCommand.Source.OVERRIDE):
            chosen[row.agent_id] = row
    if rows:
        PendingCommand.objects.filter(id__in=[r.id for r in rows]).delete()
    return chosen


def _plans(region_id: str) -> dict[str, dict]:
    state, _ = load_state("agents", region_id)
    return {aid: entry.get("plan") for aid, entry in state["agents"].items() if entry.get("plan")}


# --- planning ----------------------------------------------------------------------------


@transaction.atomic
def plan_region(*, region_id: str) -> int:
    """Ask every active agent's brain for a plan; record the ones that changed."""
    region = Region.objects.get(id=region_id)
    state, _ = load_state("world", region_id)
    plans = _plans(region_id)
    tick = state["tick"]
    items = []
    for agent in Agent.objects.filter(region=region, status=Agent.Status.ACTIVE).order_by("id"):
        if agent.id not in state["agents"]:
            continue
        ctx = runtime.context(agent.id, state, plans.get(agent.id), tick=tick)
        new_plan = runtime.plan(agent.brain, ctx, state)
        if new_plan is not None and new_plan != plans.get(agent.id):
            items.append((agent.stream_id, [NewEvent(
                "agent.plan.updated", {"agentId": agent.id, "region": region_id, "tick": tick, "plan": new_plan},
                {"actor": f"agent:{agent.id}", "tick": tick})], None))
    if items:
        record([(stream, events, ANY) for stream, events, _ in items])
    return len(items)
