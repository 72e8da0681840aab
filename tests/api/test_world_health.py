"""`GET /worlds/<region>/health`: the world page's answer to "is it ticking, and if not, why?"."""

import math
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agents.services import tick_region

pytestmark = pytest.mark.django_db


def health(region: str = "meadow"):
    return APIClient().get(f"/worlds/{region}/health")


def test_a_world_on_schedule_is_healthy(world, settings):
    settings.CELERY_BROKER_URL = settings.REDIS_URL  # the tests' Redis answers
    tick_region(region_id="meadow", now=timezone.now())  # every tick due by now (catch-up, then skipped)
    response = health()
    assert response.status_code == 200
    body = response.json()
    assert body["region"] == "meadow" and body["tickSeconds"] == world.tick_seconds
    assert body["lagTicks"] <= 1 and body["dueTick"] - body["lastTick"] == body["lagTicks"]
    assert (body["stalled"], body["brokerReachable"], body["warnings"]) == (False, True, [])
    assert body["lastTickAt"]


def test_a_world_behind_its_schedule_is_stalled_and_says_where_it_stopped(world, settings):
    settings.CELERY_BROKER_URL = settings.REDIS_URL
    body = health().json()  # the fixture ticked once, an hour of ticks ago
    assert body["stalled"] and body["lastTick"] == 1 and body["lagTicks"] == body["dueTick"] - 1 >= 1000
    assert len(body["warnings"]) == 1
    assert "Region meadow is stalled" in body["warnings"][0] and "last tick 1" in body["warnings"][0]


def test_an_unreachable_broker_is_named(world, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    tick_region(region_id="meadow", now=timezone.now())
    body = health().json()
    assert body["brokerReachable"] is False and not body["stalled"]
    assert body["warnings"] == ["The broker (Redis) does not answer: nothing ticks until it is back."]


def test_an_unknown_region_is_404_and_anyone_may_ask(world):
    response = health("nowhere")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert health().status_code == 200  # no credentials


def test_it_is_rate_limited_like_every_read(world, settings):
    settings.SELFPLAY_READ_RATE_LIMIT = 3
    answers = [health().status_code for _ in range(5)]
    assert answers[:3] == [200, 200, 200] and answers[3:] == [429, 429]


def test_the_region_lags_by_the_ticks_due_since_its_last(world, settings):
    settings.CELERY_BROKER_URL = settings.REDIS_URL
    started = time.monotonic()
    tick_region(region_id="meadow", now=timezone.now() - timedelta(seconds=world.tick_seconds * 2.5))
    body = health().json()
    # The clock moved on while the tick and the request ran (a loaded machine: seconds).
    moved_on = math.ceil((time.monotonic() - started) / world.tick_seconds)
    assert 2 <= body["lagTicks"] <= 2 + moved_on
