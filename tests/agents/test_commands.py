"""Operator commands: the demo world, the beat schedule, status, and the accelerated soak."""

import json
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.core.management.base import CommandError
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from agents.capabilities import registry
from agents.management.commands import selfplay_demo
from agents.models import Agent, Region
from agents.services import tick_region
from checkpoints.models import Checkpoint
from events import partitions
from events.models import Anchor, Event, Projection, Stream
from events.store import head_global_position
from selfplay.web.management.commands import selfplay_status

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


def test_the_demo_world_can_start_ticking_later_than_it_is_created(monkeypatch):
    now = datetime(2026, 11, 29, 8, 0, 0, 123456, tzinfo=UTC)
    monkeypatch.setattr(selfplay_demo, "timezone", SimpleNamespace(now=lambda: now))

    assert run_command("selfplay_demo", "--agents", "2", "--starts-in", "15")[0] == 0

    region = Region.objects.get(id="meadow")
    assert region.epoch == now + timedelta(seconds=15)
    assert events_of("world:meadow", "world.created")[0].data["epoch"] == (now + timedelta(seconds=15)).isoformat()


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


def test_a_second_demo_region_names_its_agents_after_itself():
    run_command("selfplay_demo", "--agents", "3", "--scribes", "1")
    code, out, _ = run_command("selfplay_demo", "--region", "second", "--agents", "3", "--scribes", "1")
    assert code == 0
    assert out == f"created region second\nregion second: 4 agents (4 new) across brains {BRAINS}, and 1 new scribes\n"
    assert sorted(Agent.objects.filter(region_id="second").values_list("id", "name")) == [
        ("second-ada", "Ada"), ("second-alan", "Alan"), ("second-barbara", "Barbara"), ("second-scribe-1", "Scribe 1")]
    assert Agent.objects.filter(region_id="meadow").count() == 4


@pytest.mark.parametrize(("args", "message"), [
    (["--region", "Bad Region!"], "--region must match"),
    (["--agents", "-5"], "--agents must not be negative"),
    (["--scribes", "-1"], "--scribes must not be negative"),
    (["--starts-in", "-100"], "--starts-in must not be negative"),
    (["--region", "r" * 60], "choose a shorter --region"),
])
def test_bad_demo_arguments_are_refused_and_create_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        run_command("selfplay_demo", *args)
    assert Region.objects.count() == 0 and Event.objects.count() == 0


# --- setup_periodic_tasks -------------------------------------------------------------------


def test_the_beat_schedule_is_set_up_once_from_the_settings(settings):
    settings.SELFPLAY_SIM_TICK_SECONDS = 3
    settings.SELFPLAY_PLAN_TICK_SECONDS = 45

    code, out, _ = run_command("setup_periodic_tasks")
    assert code == 0
    assert out == ("created 'simulation tick': agents.dispatch_simulation_ticks every 3 s, expiring after 1 s\n"
                   "created 'planning tick': agents.dispatch_planning_ticks every 45 s, expiring after 45 s\n"
                   "created 'verification follow': verification.follow every 3 s, expiring after 3 s\n"
                   "created 'capability sweep': agents.sweep_capabilities every 60 s, expiring after 60 s\n"
                   "created 'event partitions': events.ensure_partitions every 300 s, expiring after 300 s\n")
    code, out, _ = run_command("setup_periodic_tasks")
    assert code == 0
    assert out == ("updated 'simulation tick': agents.dispatch_simulation_ticks every 3 s, expiring after 1 s\n"
                   "updated 'planning tick': agents.dispatch_planning_ticks every 45 s, expiring after 45 s\n"
                   "updated 'verification follow': verification.follow every 3 s, expiring after 3 s\n"
                   "updated 'capability sweep': agents.sweep_capabilities every 60 s, expiring after 60 s\n"
                   "updated 'event partitions': events.ensure_partitions every 300 s, expiring after 300 s\n")

    tasks = {t.name: t for t in PeriodicTask.objects.all()}
    assert sorted(tasks) == ["capability sweep", "event partitions", "planning tick", "simulation tick",
                             "verification follow"]
    assert (tasks["simulation tick"].task, tasks["simulation tick"].interval.every,
            tasks["simulation tick"].interval.period) == ("agents.dispatch_simulation_ticks", 3, "seconds")
    assert (tasks["planning tick"].task, tasks["planning tick"].interval.every,
            tasks["planning tick"].interval.period) == ("agents.dispatch_planning_ticks", 45, "seconds")
    # The verification follower keeps pace with the simulation tick: it shares its schedule.
    assert (tasks["verification follow"].task, tasks["verification follow"].interval.every,
            tasks["verification follow"].interval.period) == ("verification.follow", 3, "seconds")
    assert tasks["verification follow"].interval_id == tasks["simulation tick"].interval_id
    assert all(t.enabled for t in tasks.values())
    # Every firing expires before the next is sent: an outage leaves nothing to replay.
    assert {name: t.expire_seconds for name, t in tasks.items()} == {
        "simulation tick": 1, "planning tick": 45, "verification follow": 3, "capability sweep": 60,
        "event partitions": 300}
    assert tasks["capability sweep"].task == "agents.sweep_capabilities"
    assert tasks["event partitions"].task == "events.ensure_partitions"
    assert IntervalSchedule.objects.count() == 4


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


@pytest.fixture
def private_broker_keys(settings):
    """Queue depths read from the broker under a key prefix of this test alone (always empty)."""
    settings.CELERY_BROKER_URL = settings.REDIS_URL
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS,
                                                "global_keyprefix": f"{settings.SELFPLAY_REDIS_PREFIX}:broker:"}


def test_status_as_json_reports_ticks_lag_and_counts(region, monkeypatch, private_broker_keys):
    tick_region(region_id="vale", now=at(region, 3))
    now = at(region, 10.5)
    monkeypatch.setattr(selfplay_status, "timezone", SimpleNamespace(now=lambda: now))

    code, out, err = run_command("selfplay_status", "--json")

    # Seven ticks behind its schedule: stalled, said on stderr and in the exit status.
    assert code == 1
    assert err.splitlines() == [f"WARNING: Region vale is stalled: 7 ticks behind (last tick 3 at {at(region, 3).isoformat()})."]
    status = json.loads(out)
    completed = list(Event.objects.filter(stream_id="world:vale", type="world.tick.completed")
                     .order_by("position"))
    assert [e.data["tick"] for e in completed] == [1, 2, 3]
    # The three ticks ran together at epoch + 3 intervals (the injected clock), so tick 3 was on
    # time and ticks 1 and 2 were 4 s and 2 s late: each a whole interval or more after it was
    # due, so caught up, in one incident that began 4 s late and was over at once.
    assert [e.recorded_at for e in completed] == [at(region, 3)] * 3
    recoveries = [{"fromTick": 1, "toTick": 2, "ticks": 2, "firstTickLateSeconds": 4.0, "catchUpSeconds": 0.0}]
    # Every stream got its first checkpoint, announced in the checkpoint log (which has its own).
    announced = checkpoint_announcements()
    streams = sorted(Stream.objects.values_list("id", flat=True))
    assert streams == ["agent:ada", "agent:bob", "agent:cy", "agent:dee", "system:checkpoints", "world:vale"]
    assert sorted(e.data["streamId"] for e in announced) == streams
    ahead = status["eventPartitions"]["emptyAhead"]
    assert connection.vendor != "postgresql" or ahead >= 1
    assert status == {
        "now": now.isoformat(),
        "broker": {"reachable": True},
        "warnings": [f"Region vale is stalled: 7 ticks behind (last tick 3 at {at(region, 3).isoformat()})."],
        "regions": [{
            "region": "vale", "lastTick": 3, "dueTick": 10, "lagTicks": 7, "cadenceSeconds": 2, "stalled": True,
            "lastTickAt": completed[-1].recorded_at.isoformat(), "agents": 4, "activeAgents": 4,
            # Completions recorded in the minute before now (epoch + 10.5 intervals): all three.
            "ticksPerMinute": 3,
            "continuity": {  # nearest-rank percentiles of three
                "latenessP50Ms": 2000, "latenessP99Ms": 4000, "ticksMeasured": 3,
                "caughtUpTicks": 2,
                "recoveries": recoveries,
                "skippedRanges": [], "skippedTicks": 0,
            },
        }],
        "agents": 4,
        "streams": len(streams),
        "events": Event.objects.count(),
        "headGlobalPosition": head_global_position(),
        "queues": {"queues": {"celery": 0, "planning": 0, "capabilities": 0}, "unacked": 0},
        "followers": [],
        "readableGlobalPosition": head_global_position(),  # nothing in flight
        # PostgreSQL's log is in partitions (how many depends on the tests before), SQLite's in one table.
        "eventPartitions": ({"partitioned": True, "count": len(partitions.partitions()), "emptyAhead": ahead}
                            if connection.vendor == "postgresql"
                            else {"partitioned": False, "count": 0, "emptyAhead": 0}),
        "checkpoints": len(announced),
        "flags": {"open": 0, "acknowledged": 0, "resolved": 0, "openByKind": {}},
        "playerhood": {"verified": 0, "provisional": 0, "suspect": 0},
        "suspectSessions": [],
        "capabilities": registry.statuses(),
    }
    assert [(c["name"], c["status"]) for c in status["capabilities"]] == [
        ("hash", "available"), ("notify", "available"), ("post", "available"), ("read_authenticated", "available"),
        ("read_public", "available"), ("store", "available")]
    assert Checkpoint.objects.count() == len(announced)
    assert Event.objects.filter(type="world.tick.completed").count() == 3


def test_status_for_people_names_each_region(region, monkeypatch, private_broker_keys):
    monkeypatch.setattr(selfplay_status, "timezone", SimpleNamespace(now=lambda: at(region, 2)))
    # Creating the region checkpointed its world stream, and the checkpoint log checkpointed
    # itself once: 5 world events (creation, 4 spawns) and 2 announcements in 2 streams.
    assert [e.data["streamId"] for e in checkpoint_announcements()] == ["world:vale", "system:checkpoints"]
    assert len(events_of("world:vale")) == 5

    code, out, _ = run_command("selfplay_status")

    assert code == 0  # two ticks behind: late, not stalled
    assert out.splitlines() == [
        "events 7 in 2 streams (head 7), agents 4, checkpoints 2",
        "region vale: tick 0 (due 2, lag 2), every 2 s, 0 ticks/min, 4/4 agents active, last tick at never",
        "  lateness p50 0.0 ms, p99 0.0 ms; caught up 0 ticks, skipped 0",
        "capabilities: hash available, notify available, post available, read_authenticated available, "
        "read_public available, store available",
        "queues: celery 0, planning 0, capabilities 0 waiting; 0 held by workers (running or due later)",
        "flags: 0 open (none), 0 acknowledged, 0 resolved; playerhood {'verified': 0, 'provisional': 0, 'suspect': 0}",
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
    anchors = Anchor.objects.count()
    assert f"ok: {len(streams)} streams, {events} events, every chain intact ({anchors} signed anchors hold)" in lines
    assert anchors >= len(streams)  # every stream was checkpointed, so anchored, at least once
    # world, agents and leaderboard of the region, `agent` of each agent, `stream` of the log.
    keys = projection_keys()
    assert sorted(keys) == sorted([("world", "soak"), ("agents", "soak"), ("leaderboard", "soak"),
                                   *(("agent_stream", f"a{i}") for i in range(8)), ("stream", "system:checkpoints")])
    assert (f"ok: {len(keys)} projection keys rebuilt twice identically; 30 ticks re-evaluated from {events} "
            f"events, no divergence") in lines
    assert lines[-1].startswith("soak passed in ")
    assert Event.objects.filter(type="world.tick.completed").count() == 30
    assert Event.objects.filter(type="agent.action.submitted").count() == 30 * 8


def test_a_soak_refuses_a_database_that_has_regions(region, restore_tick_log_level):
    for name in ("vale", "soak"):  # a daemon serving it would adopt the soak's long-past region
        with pytest.raises(CommandError, match=r"this database already has regions \(vale\): soak a fresh one"):
            run_command("selfplay_soak", ticks=1, agents=1, region=name)
    with pytest.raises(CommandError, match="at least 1"):
        run_command("selfplay_soak", ticks=0, agents=1)
