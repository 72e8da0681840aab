"""Writes of the living world: regions, agents and the tick (DESIGN §4)."""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction

from events.projections import load_state
from events.store import (
    ANY,
    NO_STREAM,
    NewEvent,
    WrongExpectedVersion,
    new_event_ids,
    record,
    stream_version,
)
from selfplay import world
from selfplay.gc_pause import paused_gc

from . import runtime
from .capabilities import tick as capability_tick
from .models import Agent, PendingCommand, Region
from .turns import tick_correlation_id

logger = logging.getLogger(__name__)
SYSTEM = {"actor": "system"}


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
    state, _ = load_state("world", region_id, shared=True)
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


UNCHANGED = object()


@transaction.atomic
def configure_agent(*, agent_id: str, actor: str, owner=UNCHANGED, brain=UNCHANGED) -> list[str]:
    """Change an agent's owner (a user or None) and/or brain; record each change; return their types.

    The change is recorded in the agent's world stream (`agent.owner.changed`,
    `agent.brain.changed`), so the projections and every page say what the agent row says.
    """
    agent = Agent.objects.select_related("owner").get(id=agent_id)
    # The region row is the tick's lock: the world stream cannot move under the append below.
    region = Region.objects.select_for_update().get(id=agent.region_id)
    events, fields = [], []
    metadata = {"actor": actor}
    base = {"agentId": agent.id, "region": region.id}
    if owner is not UNCHANGED and owner != agent.owner:
        previous = agent.owner.get_username() if agent.owner else None
        agent.owner = owner
        fields.append("owner")
        events.append(NewEvent("agent.owner.changed", {
            **base, "owner": owner.get_username() if owner else None, "previous": previous}, metadata))
    if brain is not UNCHANGED and brain != agent.brain:
        runtime.brain_named(brain)  # an unknown brain is refused before anything is written
        events.append(NewEvent("agent.brain.changed", {**base, "brain": brain, "previous": agent.brain}, metadata))
        agent.brain = brain
        fields.append("brain")
    if events:
        agent.save(update_fields=fields)
        record([(region.stream_id, events, stream_version(region.stream_id))])
    return [event.type for event in events]


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


def tick_region(*, region_id: str, now: datetime, max_catchup: int | None = None,
                clock: Callable[[], datetime] | None = None) -> TickReport:
    """Simulate every tick of a region due at `now`, each in its own transaction.

    After downtime at most `max_catchup` missed ticks are simulated; older ones are recorded
    as `world.ticks.skipped`. Losing the race to another worker stops quietly. Each tick is
    recorded at `clock()` (recordedAt): the Celery task passes the wall clock; by default the
    clock stands still at `now`, so a run with an injected time records exactly that time.
    """
    clock = clock or (lambda: now)
    max_catchup = settings.SELFPLAY_MAX_CATCHUP_TICKS if max_catchup is None else max_catchup
    region = Region.objects.get(id=region_id)
    report = TickReport(region_id)
    due = due_tick(region, now)
    try:
        while True:
            state, _ = load_state("world", region_id, shared=True)
            last = state["tick"]
            if due <= last:
                return report
            if due - last > max_catchup:
                report.skipped = (last + 1, due - max_catchup)
                report.events += _skip_ticks(region, last + 1, due - max_catchup, now=clock())
                continue
            report.events += run_tick(region=region, tick=last + 1, now=clock())
            report.ticks.append(last + 1)
    except WrongExpectedVersion:
        logger.info("region %s: another worker recorded this tick first; stopping", region_id)
        report.lost_race = True
        return report


@transaction.atomic
def _skip_ticks(region: Region, from_tick: int, to_tick: int, *, now: datetime) -> int:
    head = stream_version(region.stream_id)
    data = {"fromTick": from_tick, "toTick": to_tick, "reason": "downtime"}
    logger.warning("region %s: skipping ticks %d..%d after downtime", region.id, from_tick, to_tick)
    record([(region.stream_id, [NewEvent("world.ticks.skipped", data, SYSTEM)], head)], now=now)
    return 1


def run_tick(*, region: Region, tick: int, now: datetime | None = None) -> int:
    """Run one tick of a region (DESIGN §4 steps 1–7) in one transaction; return events written.

    `now` is the clock the tick is recorded at (recordedAt; default: the wall clock)."""
    # A tick allocates tens of thousands of small containers, most of which live on in the new
    # state; the cyclic collector would rescan them again and again mid-tick (a third of a
    # 10,000-agent tick). Nothing here builds cycles, so collection waits until the tick ends.
    with paused_gc():
        return _run_tick(region=region, tick=tick, now=now)


@transaction.atomic
def _run_tick(*, region: Region, tick: int, now: datetime | None) -> int:
    started = time.perf_counter()
    # Commands lock the same row before reading the tick they promise (appliesAtTick), so a
    # command is either seen by this tick or promised to the next one, never lost in between.
    Region.objects.select_for_update().filter(pk=region.pk).first()
    head = stream_version(region.stream_id)
    state, _ = load_state("world", region.id, shared=True)
    if state["tick"] >= tick:
        raise WrongExpectedVersion(region.stream_id, f"tick {tick}", head)
    correlation = tick_correlation_id(region.id, tick)
    # Plain rows, not model instances: a 10,000-agent tick should not build 10,000 models.
    agents = {row.id: row for row in _agent_rows(region)}
    world_events = _status_changes(state, agents, tick, correlation)
    if world_events:
        state = world.fold("world", state, [(e.type, e.data) for e in world_events])
    pending, passed_over = _take_pending(region, tick)
    superseded = _superseded(passed_over, region.id, tick, correlation)
    plans = _plans(region.id)
    ledgers = capability_tick.ledgers(region.id)
    observe = capability_tick.observer(ledgers, tick=tick)

    decisions: dict[str, object] = {}
    agent_items = []
    causes: dict[str, str] = {}
    decision_ids: dict[str, str] = {}
    fresh_ids = iter(new_event_ids(len(state["agents"]), now))
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
            if command.reason:
                data["reason"] = command.reason
            metadata.update(actor=command.actor, causationId=command.event_id)
            action = command.action
        else:
            ctx = runtime.context(agent_id, state, plans.get(agent_id), tick=tick, capabilities=observe(agent_id))
            action, error = runtime.decide(agent.brain, ctx, state)
            data.update(action=action, source="brain")
            if error:
                data["brainError"] = error
        event_id = next(fresh_ids)
        # The outcome names its cause: the command for an override or external decision,
        # otherwise the brain's recorded decision.
        causes[agent_id] = command.event_id if command is not None else event_id
        decisions[agent_id] = action
        decision_ids[agent_id] = event_id
        agent_items.append((f"agent:{agent_id}", [*superseded.pop(agent_id, []),
                                                  NewEvent("agent.action.submitted", data, metadata, id=event_id)]))
    agent_items.extend((f"agent:{agent_id}", events) for agent_id, events in sorted(superseded.items()))

    seed = world.tick_seed(state["seed"], tick)
    outcomes = world.evaluate_tick(state, decisions, tick=tick, seed=seed)
    for kind, data in outcomes:
        world_events.append(NewEvent(kind, data, {
            "actor": "system", "tick": tick, "correlationId": correlation,
            "causationId": causes.get(data["agentId"]),
        }))
    # A `use` the world let through becomes a request (or fails at once: not granted, over budget),
    # recorded after the decision in the agent's stream and performed once the tick commits.
    requests, to_perform = capability_tick.requests_of_tick(
        region_id=region.id, tick=tick, outcomes=outcomes, decision_ids=decision_ids, ledgers_now=ledgers,
        correlation=correlation)
    if requests:
        for stream, events in agent_items:
            events.extend(requests.pop(stream.partition(":")[2], ()))
    duration_ms = round((time.perf_counter() - started) * 1000)
    completed, after = world.close_tick(state, outcomes, tick=tick, duration_ms=duration_ms)
    world_events.append(NewEvent("world.tick.completed", completed,
                                 {"actor": "system", "tick": tick, "correlationId": correlation}))
    items = [(stream, events, ANY) for stream, events in agent_items]
    items.append((region.stream_id, world_events, head))
    recorded = record(items, now=now, known_states={("world", region.id): after}, fresh_ids=True)
    capability_tick.enqueue_after_commit(to_perform)
    _test_only_pause_in_tick(region.id, tick)
    logger.info("region %s tick %d: %d agents, %d events, %d ms", region.id, tick, len(decisions),
                len(recorded), round((time.perf_counter() - started) * 1000))
    return len(recorded)


def _test_only_pause_in_tick(region_id: str, tick: int) -> None:
    """TEST-ONLY: with SELFPLAY_TEST_TICK_PAUSE_SECONDS > 0 (never in production), hold the
    tick's transaction open after its appends, saying so in the log, so that a harness can kill
    the worker with a tick provably in flight (tests/e2e, tests/chaos)."""
    if settings.SELFPLAY_TEST_TICK_PAUSE_SECONDS > 0:
        logger.warning("TEST-ONLY tick transaction open: region %s tick %d", region_id, tick)
        time.sleep(settings.SELFPLAY_TEST_TICK_PAUSE_SECONDS)


class _AgentRow(NamedTuple):
    id: str
    brain: str
    status: str


def _agent_rows(region: Region) -> list[_AgentRow]:
    # Plain SQL: a tick reads every agent of its region, and the ORM's rows cost twice the query.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, brain, status FROM {Agent._meta.db_table} WHERE region_id = %s", [region.pk])
        return list(map(_AgentRow._make, cursor.fetchall()))


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


def _take_pending(region: Region, tick: int) -> tuple[dict[str, PendingCommand], list[tuple[PendingCommand, PendingCommand]]]:
    """Remove the commands due at this tick; return the one used per agent (overrides first)
    and the (command, the one that took its place) pairs that will not be used."""
    rows = list(PendingCommand.objects.filter(agent__region=region, applies_at_tick__lte=tick)
                .order_by("applies_at_tick", "source", "id"))
    chosen: dict[str, PendingCommand] = {}
    passed_over: list[PendingCommand] = []
    for row in rows:
        current = chosen.get(row.agent_id)
        if current is None:
            chosen[row.agent_id] = row
        elif row.source == PendingCommand.Source.OVERRIDE and current.source != PendingCommand.Source.OVERRIDE:
            chosen[row.agent_id] = row
            passed_over.append(current)
        else:
            passed_over.append(row)
    if rows:
        PendingCommand.objects.filter(id__in=[r.id for r in rows]).delete()
    return chosen, [(row, chosen[row.agent_id]) for row in passed_over]


def _superseded(passed_over, region_id: str, tick: int, correlation: str) -> dict[str, list[NewEvent]]:
    """Return, per agent, `agent.decision.superseded` for each accepted command a tick did not use,
    so that every accepted command ends in the log."""
    events: dict[str, list[NewEvent]] = {}
    for row, by in passed_over:
        events.setdefault(row.agent_id, []).append(NewEvent(
            "agent.decision.superseded",
            {"commandId": row.event_id, "by": by.event_id, "source": row.source, "tick": tick, "region": region_id},
            {"actor": "system", "tick": tick, "correlationId": correlation, "causationId": by.event_id}))
    return events


def _plans(region_id: str) -> dict[str, dict]:
    state, _ = load_state("agents", region_id, shared=True)
    return {aid: entry.get("plan") for aid, entry in state["agents"].items() if entry.get("plan")}


# --- planning ----------------------------------------------------------------------------


#: Plans wait at most about this long after their brain answered before they are recorded.
PLAN_FLUSH_SECONDS = 1.0


def plan_region(*, region_id: str, timer: Callable[[], float] = time.monotonic) -> int:
    """Ask every active agent's brain for a plan; record the ones that changed; return how many.

    Brains plan outside any transaction (DESIGN §4: slow work never holds one): a planner may
    take seconds (a language model, say), and on SQLite an open write transaction would hold
    the one write lock, stalling every tick meanwhile. The state is read first, the brains are
    asked with no transaction open, and only the results are recorded, in short transactions
    of their own (`_record_plans`): all at once when the brains are quick, and as they come
    (about every PLAN_FLUSH_SECONDS of `timer`) when they are slow, so that one agent's plan
    does not wait for every other agent's brain.
    """
    region = Region.objects.get(id=region_id)
    state, _ = load_state("world", region_id, shared=True)
    plans = _plans(region_id)
    tick = state["tick"]
    # Read to the end before the first brain runs: no cursor stays open while they think.
    active = sorted(row for row in _agent_rows(region) if row.status == Agent.Status.ACTIVE)
    proposals: list[_PlanProposal] = []
    recorded = 0
    flushed_at = timer()
    for agent in active:
        if agent.id not in state["agents"]:
            continue
        ctx = runtime.context(agent.id, state, plans.get(agent.id), tick=tick)
        new_plan = runtime.plan(agent.brain, ctx, state)
        if new_plan is not None and new_plan != plans.get(agent.id):
            proposals.append(_PlanProposal(agent.id, agent.brain, plans.get(agent.id), new_plan))
        if proposals and timer() - flushed_at >= PLAN_FLUSH_SECONDS:
            recorded += _record_plans(region, tick, proposals)
            proposals, flushed_at = [], timer()
    if proposals:
        recorded += _record_plans(region, tick, proposals)
    return recorded


class _PlanProposal(NamedTuple):
    agent_id: str
    brain: str
    based_on: dict | None  # the plan the brain was shown (ctx.plan)
    plan: dict


@transaction.atomic
def _record_plans(region: Region, tick: int, proposals: list[_PlanProposal]) -> int:
    """Record the plans still valid now; return how many were recorded.

    A plan is recorded with the tick whose state it was computed from (`data.tick`), not the
    tick the world has reached by now: the world moves on while a brain thinks, and that is
    fine, since every plan is advice read at later ticks, against the state of those ticks (a
    plan is normally used for a whole planning interval anyway). What would make it wrong is
    its inputs about the agent itself, so a plan is dropped when, meanwhile,
    - another plan was recorded for the agent (the brain planned from a plan that is no
      longer current: compare-and-set on the plan it was shown, so an overlapping, slower
      planning run never overwrites a newer plan with an older one);
    - the agent was paused, moved away, or given another brain (the plan is another brain's).
    """
    # The region row is the tick's lock (commands and configure_agent take it too): nothing
    # changes an agent's plan, status or brain between the checks below and the append.
    Region.objects.select_for_update().filter(pk=region.pk).first()
    current = _plans(region.id)
    agents = {row.id: row for row in _agent_rows(region)}
    items = []
    for proposal in proposals:
        agent = agents.get(proposal.agent_id)
        if (agent is None or agent.status != Agent.Status.ACTIVE or agent.brain != proposal.brain
                or current.get(proposal.agent_id) != proposal.based_on):
            logger.info("region %s: the plan of agent %s computed at tick %d is stale; not recorded",
                        region.id, proposal.agent_id, tick)
            continue
        items.append((f"agent:{proposal.agent_id}", [NewEvent(
            "agent.plan.updated",
            {"agentId": proposal.agent_id, "region": region.id, "tick": tick, "plan": proposal.plan},
            {"actor": f"agent:{proposal.agent_id}", "tick": tick})], ANY))
    if items:
        record(items)
    return len(items)
