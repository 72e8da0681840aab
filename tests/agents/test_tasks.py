"""Celery tasks are thin: they take ids, call a service, and are dispatched one per region."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents import tasks
from agents.services import plan_region

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


def test_dispatch_enqueues_one_simulation_tick_per_region(two_regions, settings, monkeypatch):
    settings.SELFPLAY_SIM_TICK_SECONDS = 3
    calls = []
    monkeypatch.setattr(tasks.simulation_tick, "apply_async",
                        lambda args, **options: calls.append((args, options)))

    assert tasks.dispatch_simulation_ticks() == 2

    assert calls == [(("alpha",), {"expires": 15}), (("beta",), {"expires": 15})]
    assert events_of("world:alpha", "world.tick.completed") == []  # dispatching simulates nothing


def test_dispatch_enqueues_one_planning_tick_per_region(two_regions, settings, monkeypatch):
    settings.SELFPLAY_PLAN_TICK_SECONDS = 45
    calls = []
    monkeypatch.setattr(tasks.planning_tick, "apply_async",
                        lambda args, **options: calls.append((args, options)))

    assert tasks.dispatch_planning_ticks() == 2

    assert calls == [(("alpha",), {"expires": 45}), (("beta",), {"expires": 45})]
