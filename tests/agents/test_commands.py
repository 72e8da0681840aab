"""Operator commands: the demo world, the beat schedule, status, and the accelerated soak."""

import json
import logging
from collections import Counter
from types import SimpleNamespace

import pytest
from django.core.management.base import CommandError
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from agents.management.commands import selfplay_status
from agents.models import Agent, Region
from agents.services import tick_region
from checkpoints.models import Checkpoint
from events.models import Event, Projection, Stream
from events.store import head_global_position

from .worlds import (
    at,
    checkpoint_announcements,
    event_count,
    events_of,
    projection_keys,
    run_command,
)

pytestmark = pytest.mark.django_db

BRAINS = "builder, forager, trader, wanderer"


# --- selfplay_demo --------------------------------------------------------------------------


def test_the_demo_world_is_created_once():
    code, out, _ = run_command("selfplay_demo")
    assert code == 0
    assert out == f"created region meadow\nregion meadow: 60 agents (60 new) across brains {BRAINS}\n"
    agents = Agent.objects.filter(region_id="meadow")
    assert agents.count() == 60
    assert Counter(agents.values_list("brain", flat=True)) == {
        "builder": 15, "forager": 15, "trader": 15, "wanderer": 15}
    assert len(events_of("world:meadow", "agent.spawned")) == 60
    world = Projection.objects.get(name="world", key="meadow").state
    assert len({(a["x"], a["y"]) for a in world["agents"].values()}) == 60  # one agent per tile
    before = event_count()

    code, out, _ = run_command("selfplay_demo")

    assert code == 0
    assert out == f"region meadow: 60 agents (0 new) across brains {BRAINS}\n"
    assert event_count() == before
    assert Region.objects.count() == 1
    assert Agent.objects.count() == 60


def test_the_demo_grows_to_a_larger_count_without_moving_anyone():
    run_command("selfplay_demo")
    spawned = {e.data["agentId"]: (e.data["x"], e.data["y"]) for e in events_of("world:meadow", "agent.spawned")}

    code, out, _ = run_command("selfplay_demo", "--agents", "70")

    assert code == 0
    assert out == f"region meadow: 70 agents (10 new) across brains {BRAINS}\n"
    world = Projection.objects.get(name="world", key="meadow").state["agents"]
    assert len(world) == 70
    assert {aid: (world[aid]["x"], world[aid]["y"]) for aid in spawned} == spawned
    assert len({(a["x"], a["y"]) for a in world.values()}) == 70


# --- setup_periodic_tasks -------------------------------------------------------------------


def test_the_beat_schedule_is_set_up_once_from_the_settings(settings):
    settings.SELFPLAY_SIM_TICK_SECONDS = 3
    settings.SELFPLAY_PLAN_TICK_SECONDS = 45

    code, out, _ = run_command("setup_periodic_tasks")
    assert code == 0
    assert out == ("created 'simulation tick': agents.dispatch_simulation_ticks every 3 s\n"
                   "created 'planning tick': agents.dispatch_planning_ticks every 45 s\n"
                   "created 'verification follow': verification.follow every 3 s\n")
    code, out, _ = run_command("setup_periodic_tasks")
    assert code == 0
    assert out == ("updated 'simulation tick': agents.dispatch_simulation_ticks every 3 s\n"
                   "updated 'planning tick': agents.dispatch_planning_ticks every 45 s\n"
                   "updated 'verification follow': verification.follow every 3 s\n")

    tasks = {t.name: t for t in PeriodicTask.objects.all()}
    assert sorted(tasks) == ["planning tick", "simulation tick", "verification follow"]
    assert (tasks["simulation tick"].task, tasks["simulation tick"].interval.every,
            tasks["simulation tick"].interval.period) == ("agents.dispatch_simulation_ticks", 3, "seconds")
    assert (tasks["planning tick"].task, tasks["planning tick"].interval.every,
            tasks["planning tick"].interval.period) == ("agents.dispatch_planning_ticks", 45, "seconds")
    # The verification follower keeps pace with the simulation tick: it shares its schedule.
    assert (tasks["verification follow"].task, tasks["verification follow"].interval.every,
            tasks["verification follow"].interval.period) == ("verification.follow", 3, "seconds")
    assert tasks["verification follow"].interval_id == tasks["simulation tick"].interval_id
    assert all(t.enabled for t in tasks.values())
    assert IntervalSchedule.objects.count() == 2


def test_a_changed_cadence_updates_the_schedule_in_place(settings):
    run_command("setup_periodic_tasks")
    settings.SELFPLAY_SIM_TICK_SECONDS = 5
    PeriodicTask.objects.filter(name="simulation tick").update(enabled=False)

    run_command("setup_periodic_tasks")

    assert PeriodicTask.objects.filter(name__in=["simulation tick", "planning tick"]).count() == 2
    sim = PeriodicTask.objects.get(name="simulation tick")
    assert (sim.interval.every, sim.enabled) == (5, True)
    assert IntervalSchedule.objects.filter(every=5, period="seconds").count() == 1


# --- selfplay_status ------------------------------------------------------------------------


def test_status_as_json_reports_ticks_lag_and_counts(region, monkeypatch):
    tick_region(region_id="vale", now=at(region, 3))
    now = at(region, 10.5)
    monkeypatch.setattr(selfplay_status, "timezone", SimpleNamespace(now=lambda: now))

    code, out, _ = run_command("selfplay_status", "--json")

    assert code == 0
    status = json.loads(out)
    completed = list(Event.objects.filter(stream_id="world:vale", type="world.tick.completed")
                     .order_by("position"))
    assert [e.data["tick"] for e in completed] == [1, 2, 3]
    # Lateness is how long after its scheduled moment (epoch + tick * cadence) each tick was
    # recorded. The ticks are recorded now, by the wall clock, months after the fixed 2026-01-01
    # epoch. A tick counts as caught up when it ran a whole interval later than the usual
    # (median) lateness: beat's own phase alone never makes a tick "caught up".
    late_ms = [round((e.recorded_at.timestamp() - at(region, e.data["tick"]).timestamp()) * 1000)
               for e in completed]
    assert min(late_ms) >= region.tick_seconds * 1000
    usual = sorted(late_ms)[1]
    caught = [e.data["tick"] for e, late in zip(completed, late_ms, strict=True)
              if late - usual >= region.tick_seconds * 1000]
    recoveries = ([{"fromTick": caught[0], "toTick": caught[-1], "ticks": len(caught),
                    "catchUpSeconds": round(late_ms[caught[0] - 1] / 1000, 3)}] if caught else [])
    assert caught in ([], [1])  # tick 1 is two seconds "later" than tick 2, give or take
    # Every stream got its first checkpoint, announced in the checkpoint log (which has its own).
    announced = checkpoint_announcements()
    streams = sorted(Stream.objects.values_list("id", flat=True))
    assert streams == ["agent:ada", "agent:bob", "agent:cy", "agent:dee", "system:checkpoints", "world:vale"]
    assert sorted(e.data["streamId"] for e in announced) == streams
    assert status == {
        "now": now.isoformat(),
        "regions": [{
            "region": "vale", "lastTick": 3, "dueTick": 10, "lagTicks": 7, "cadenceSeconds": 2,
            "lastTickAt": completed[-1].recorded_at.isoformat(), "agents": 4, "activeAgents": 4,
            # Completions recorded since now - 60 s: `now` is pinned near the epoch and the
            # completions carry wall-clock times, so all three count.
            "ticksPerMinute": 3,
            "continuity": {  # nearest-rank percentiles of three
                "latenessP50Ms": usual, "latenessP99Ms": max(late_ms), "ticksMeasured": 3,
                "caughtUpTicks": len(caught),
                "recoveries": recoveries,
                "skippedRanges": [], "skippedTicks": 0,
            },
        }],
        "agents": 4,
        "streams": len(streams),
        "events": Event.objects.count(),
        "headGlobalPosition": head_global_position(),
        "checkpoints": len(announced),
        "openFlags": {"total": 0, "byKind": {}},
        "playerhood": {"verified": 0, "provisional": 0, "suspect": 0},
        "suspectSessions": [],
    }
    assert Checkpoint.objects.count() == len(announced)
    assert Event.objects.filter(type="world.tick.completed").count() == 3


def test_status_for_people_names_each_region(region, monkeypatch):
    monkeypatch.setattr(selfplay_status, "timezone", SimpleNamespace(now=lambda: at(region, 2)))
    # Creating the region checkpointed its world stream, and the checkpoint log checkpointed
    # itself once: 5 world events (creation, 4 spawns) and 2 announcements in 2 streams.
    assert [e.data["streamId"] for e in checkpoint_announcements()] == ["world:vale", "system:checkpoints"]
    assert len(events_of("world:vale")) == 5

    code, out, _ = run_command("selfplay_status")

    assert code == 0
    assert out.splitlines() == [
        "events 7 in 2 streams (head 7), agents 4, checkpoints 2",
        "region vale: tick 0 (due 2, lag 2), every 2 s, 0 ticks/min, 4/4 agents active, last tick at never",
        "  lateness p50 0.0 ms, p99 0.0 ms; caught up 0 ticks, skipped 0",
        "open flags 0 (none); playerhood {'verified': 0, 'provisional': 0, 'suspect': 0}",
    ]


# --- selfplay_soak --------------------------------------------------------------------------


@pytest.fixture
def restore_tick_log_level():
    """The soak turns the tick's INFO lines down for the rest of its process; undo it."""
    logger = logging.getLogger("agents.services")
    level = logger.level
    yield
    logger.setLevel(level)


def test_a_small_soak_passes_every_check(restore_tick_log_level):
    code, out, err = run_command("selfplay_soak", ticks=30, agents=8, every=10)

    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "soak: region soak 32x32, 8 agents, 30 ticks (0.0 h of world time)"
    assert [line.split()[1] for line in lines if line.startswith("tick ")] == ["10/30", "20/30", "30/30"]
    events = Event.objects.count()
    # The region's world stream, one stream per agent, and the checkpoint log.
    streams = sorted(Stream.objects.values_list("id", flat=True))
    assert streams == sorted(["world:soak", "system:checkpoints", *(f"agent:a{i}" for i in range(8))])
    assert f"gap check: {len(streams)} streams, positions gapless" in lines
    assert f"ok: {len(streams)} streams, {events} events, every chain intact" in lines
    # world, agents and leaderboard of the region, `agent` of each agent, `stream` of the log.
    keys = projection_keys()
    assert sorted(keys) == sorted([("world", "soak"), ("agents", "soak"), ("leaderboard", "soak"),
                                   *(("agent", f"a{i}") for i in range(8)), ("stream", "system:checkpoints")])
    assert (f"ok: {len(keys)} projection keys rebuilt twice identically; 30 ticks re-evaluated from {events} "
            f"events, no divergence") in lines
    assert lines[-1].startswith("soak passed in ")
    assert Event.objects.filter(type="world.tick.completed").count() == 30
    assert Event.objects.filter(type="agent.action.submitted").count() == 30 * 8


def test_a_soak_refuses_an_existing_region(region, restore_tick_log_level):
    with pytest.raises(CommandError, match="region 'vale' exists"):
        run_command("selfplay_soak", ticks=1, agents=1, region="vale")
    with pytest.raises(CommandError, match="at least 1"):
        run_command("selfplay_soak", ticks=0, agents=1)
