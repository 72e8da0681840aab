"""Celery tasks are thin: they take ids, call a service, and are dispatched one per region."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from agents import cadence, tasks
from agents.services import plan_region
from selfplay.celery import app

from .worlds import events_of, make_region

pytestmark = pytest.mark.django_db


def test_a_simulation_tick_runs_the_ticks_due_now(db):
    # Two and a half minute-long intervals ago: ticks 1 and 2 are due, whatever the test's speed.
    make_region("hill", epoch=timezone.now() - timedelta(seconds=150), tick_seconds=60,
                agents={"ada": "builder", "bob": "forager"})

    result = tasks.simulation_tick("hill")

    assert result == {"region": "hill", "ticks": [1, 2], "skipped": None, "lostRace": False,
                      "events": 2 * (2 * 2 + 1)}
    assert [e.data["tick"] for e in events_of("world:hill", "world.tick.completed")] == [1, 2]
    assert tasks.simulation_tick("hill")["ticks"] == []


def test_a_simulation_tick_long_after_the_epoch_catches_up_within_the_limit(db, settings):
    settings.SELFPLAY_MAX_CATCHUP_TICKS = 3
    make_region("dale", epoch=timezone.now() - timedelta(seconds=60 * 10 + 30), tick_seconds=60,
                agents={"ada": "trader"})

    result = tasks.simulation_tick("dale")

    assert list(result["skipped"]) == [1, 7]
    assert result["ticks"] == [8, 9, 10]


def test_a_planning_tick_plans_the_region(region):
    assert tasks.planning_tick("vale") == 2
    assert plan_region(region_id="vale") == 0


@pytest.fixture
def two_regions(epoch):
    make_region("beta", epoch=epoch, agents={"bo": "forager"})
    make_region("alpha", epoch=epoch, agents={"al": "builder"})


def test_dispatch_sends_each_region_tick_due_in_its_window_timed_to_its_due_moment(db, settings, monkeypatch):
    settings.SELFPLAY_SIM_TICK_SECONDS = 2
    grid = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    make_region("beta", epoch=grid - timedelta(seconds=100, milliseconds=300), agents={"bo": "forager"})
    make_region("alpha", epoch=grid - timedelta(seconds=1), tick_seconds=1, agents={"al": "builder"})
    calls = []
    monkeypatch.setattr(tasks.simulation_tick, "apply_async",
                        lambda args, **options: calls.append((args, options)))
    # Beat fires on the grid, a few milliseconds late; the window is [grid + 1 s, grid + 3 s).
    monkeypatch.setattr(tasks, "timezone", SimpleNamespace(now=lambda: grid + timedelta(milliseconds=4)))

    assert tasks.dispatch_simulation_ticks() == 3

    def sent(at, expires_after):
        return {"eta": at, "expires": at + timedelta(seconds=expires_after)}

    alpha_1, alpha_2 = grid + timedelta(seconds=1), grid + timedelta(seconds=2)
    beta = grid + timedelta(seconds=1, milliseconds=700)  # tick 51 of beta: epoch + 102 s
    assert calls == [
        (("alpha", alpha_1.isoformat()), sent(alpha_1, 5)),
        (("alpha", alpha_2.isoformat()), sent(alpha_2, 5)),
        (("beta", beta.isoformat()), sent(beta, 10)),
    ]
    assert events_of("world:alpha", "world.tick.completed") == []  # dispatching simulates nothing


def test_a_simulation_tick_handed_over_early_waits_for_its_due_moment(db, monkeypatch):
    epoch = timezone.now() - timedelta(seconds=150)
    make_region("hill", epoch=epoch, tick_seconds=60, agents={"ada": "builder"})
    due = epoch + timedelta(seconds=180)  # tick 3, half a minute from now
    clock = [due - timedelta(milliseconds=7)]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        clock[0] += timedelta(seconds=seconds)

    monkeypatch.setattr(tasks, "timezone", SimpleNamespace(now=lambda: clock[0]))
    monkeypatch.setattr(cadence, "time", SimpleNamespace(sleep=sleep))

    assert tasks.simulation_tick("hill", due.isoformat())["ticks"] == [1, 2, 3]
    assert slept == [0.007]


def test_dispatch_enqueues_one_planning_tick_per_region(two_regions, settings, monkeypatch):
    settings.SELFPLAY_PLAN_TICK_SECONDS = 45
    calls = []
    monkeypatch.setattr(tasks.planning_tick, "apply_async",
                        lambda args, **options: calls.append((args, options)))

    assert tasks.dispatch_planning_ticks() == 2

    assert calls == [(("alpha",), {"expires": 45, "queue": "planning"}), (("beta",), {"expires": 45, "queue": "planning"})]


def test_planning_ticks_go_to_the_planning_queue_and_everything_else_to_the_simulation_queue():
    queues = {name: app.amqp.router.route({}, name)["queue"].name for name in (
        "agents.planning_tick", "agents.simulation_tick", "agents.dispatch_simulation_ticks",
        "agents.dispatch_planning_ticks", "verification.follow", "agents.perform_capability")}

    # The Procfile's planner serves "planning", its capabilities worker "capabilities"; its
    # simulation worker serves "celery" only.
    assert queues == {"agents.planning_tick": "planning", "agents.simulation_tick": "celery",
                      "agents.dispatch_simulation_ticks": "celery", "agents.dispatch_planning_ticks": "celery",
                      "verification.follow": "celery", "agents.perform_capability": "capabilities"}
