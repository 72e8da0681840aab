"""selfplay_status: queue depths per Celery queue, read from the broker, and the follower's lag."""

import json
import uuid

import pytest
import redis
from django.utils import timezone
from kombu import Connection

from agents.services import tick_region
from events.store import head_global_position
from tests.agents.worlds import at, make_region, run_command
from verification.models import FollowerCursor

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(settings):
    """The broker at REDIS_URL under a key prefix of this test alone (kombu's global_keyprefix)."""
    prefix = f"selfplay-test-{uuid.uuid4().hex[:12]}:"
    settings.CELERY_BROKER_URL = settings.REDIS_URL
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": prefix}
    settings.SELFPLAY_TICK_SHARDS = 2
    settings.SELFPLAY_PLANNING_QUEUE = "planning"
    settings.SELFPLAY_PUBLISH_EVENTS = False
    with Connection(settings.REDIS_URL, transport_options={"global_keyprefix": prefix}) as connection:
        yield connection
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)


def test_status_counts_each_queue_at_every_priority_and_what_workers_hold(broker):
    region = make_region("vale", epoch=timezone.now(), agents={"ada": "builder"})
    tick_region(region_id="vale", now=at(region, 1))
    ticks = broker.SimpleQueue("ticks.1")
    for n in range(3):
        ticks.put({"n": n})
    ticks.put({"n": 3}, priority=9)  # kombu keeps another list per priority step
    broker.SimpleQueue("planning").put({"n": 0})
    held = ticks.get(block=False)  # delivered, not acknowledged: in the "unacked" hash

    code, out, err = run_command("selfplay_status", "--json")

    assert (code, err) == (0, "")
    status = json.loads(out)
    assert status["queues"] == {"queues": {"celery": 0, "ticks.0": 0, "ticks.1": 3, "planning": 1, "capabilities": 0}, "unacked": 1}
    code, out, _ = run_command("selfplay_status")
    assert "queues: celery 0, ticks.0 0, ticks.1 3, planning 1, capabilities 0 waiting; 1 held by workers" in out
    held.ack()


def test_status_says_when_the_broker_cannot_count(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    code, out, err = run_command("selfplay_status")
    assert code == 1 and "queues: celery ?, planning ?, capabilities ? waiting; ? held by workers" in out


def test_status_shows_how_far_the_follower_trails_the_head(broker):
    region = make_region("vale", epoch=timezone.now(), agents={"ada": "builder", "bob": "forager"})

    tick_region(region_id="vale", now=at(region, 2))
    FollowerCursor.objects.create(name="verification", position=3)

    code, out, _ = run_command("selfplay_status", "--json")

    head = head_global_position()
    [follower] = json.loads(out)["followers"]
    assert (follower["name"], follower["position"], follower["lagEvents"]) == ("verification", 3, head - 3)
    assert f"follower verification: at 3, {head - 3} events behind the head" in run_command("selfplay_status")[1]
