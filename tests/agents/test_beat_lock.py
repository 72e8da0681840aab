"""The beat lock: one beat holds a lease in a real (private) Redis; others stand by."""

import time

import pytest
import redis

from agents.beat import BeatLock
from tests.support.redis_server import private_redis


@pytest.fixture
def redis_url(tmp_path):
    with private_redis(tmp_path) as server:
        yield server.url


def lock(url: str, token: str, ttl: float = 15) -> BeatLock:
    return BeatLock(url, key="selfplay:beat:lock", ttl_seconds=ttl, token=token)


def test_one_beat_holds_the_lease_and_another_stands_by_until_it_is_released(redis_url):
    first, second = lock(redis_url, "beat-1"), lock(redis_url, "beat-2")

    assert first.hold() is True
    assert second.hold() is False
    assert first.hold() is True  # renewing
    assert (first.holder(), second.holder()) == ("beat-1", "beat-1")
    assert 14_000 < first.client.pttl("selfplay:beat:lock") <= 15_000

    second.release()  # not the holder: changes nothing
    assert first.holder() == "beat-1"
    first.release()
    assert second.hold() is True
    assert first.hold() is False


def test_a_lapsed_lease_is_taken_over_and_a_lost_one_retaken(redis_url):
    crashed, standby = lock(redis_url, "crashed"), lock(redis_url, "standby")
    assert crashed.hold() is True
    crashed.client.pexpire("selfplay:beat:lock", 1)  # the lease runs out: nobody renews it
    time.sleep(0.01)
    assert standby.hold() is True
    assert crashed.hold() is False

    standby.client.flushall()  # Redis restarted without persistence: the lease is gone
    assert standby.hold() is True
    assert standby.holder() == "standby"


def test_without_redis_no_beat_holds_the_lease(tmp_path):
    with private_redis(tmp_path) as server:
        beat = lock(server.url, "beat-1")
        assert beat.hold() is True
        server.kill()
        # The scheduler takes this as "not holding" and sends nothing until Redis answers.
        with pytest.raises(redis.ConnectionError):
            beat.hold()
