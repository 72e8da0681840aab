"""The rate limiter on one Redis server and on a 3-master Redis Cluster: the same behaviour."""

import threading
import uuid

import pytest
import redis
from rest_framework.test import APIClient

from selfplay import ratelimit, redis_client


@pytest.fixture(params=["server", "cluster"])
def state_redis(request, settings):
    """Point Selfplay's own keys at the Redis at REDIS_URL, or at the private cluster."""
    if request.param == "cluster":
        settings.SELFPLAY_REDIS_STATE_URL = request.getfixturevalue("redis_cluster").url
    client = redis_client.client()
    yield client
    keys = list(client.scan_iter(match=f"{settings.SELFPLAY_REDIS_PREFIX}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def cluster_state(redis_cluster, settings):
    """Selfplay's own keys on the private cluster."""
    settings.SELFPLAY_REDIS_STATE_URL = redis_cluster.url
    client = redis_client.client()
    assert isinstance(client, redis.cluster.RedisCluster)
    yield client
    keys = list(client.scan_iter(match=f"{settings.SELFPLAY_REDIS_PREFIX}:*", count=1000))
    if keys:
        client.delete(*keys)


def test_a_bucket_allows_its_limit_then_refuses_until_the_window_ends(state_redis):
    decisions = [ratelimit.hit("commands:player:alice", limit=3, window_seconds=60) for _ in range(5)]
    assert [(d.allowed, d.count) for d in decisions] == [
        (True, 1), (True, 2), (True, 3), (False, 4), (False, 5)]
    assert all(d.retry_after in (59, 60) for d in decisions)
    key = redis_client.key("ratelimit", "commands:player:alice")
    assert 59_000 < state_redis.pttl(key) <= 60_000  # the window expires by itself


def test_buckets_are_counted_apart_and_a_refund_gives_one_use_back(state_redis):
    for _ in range(2):
        ratelimit.hit("reads:ip:10.0.0.1", limit=2, window_seconds=60)
    assert ratelimit.hit("reads:ip:10.0.0.2", limit=2, window_seconds=60).count == 1
    ratelimit.refund("reads:ip:10.0.0.1")
    assert ratelimit.hit("reads:ip:10.0.0.1", limit=2, window_seconds=60) == ratelimit.Decision(True, 2, 2, 60)


def test_concurrent_hits_are_each_counted_once(state_redis):
    counts: list[int] = []
    lock = threading.Lock()

    def hammer():
        for _ in range(25):
            decision = ratelimit.hit("commands:player:bob", limit=100, window_seconds=60)
            with lock:
                counts.append(decision.count)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == list(range(1, 201))
    assert sum(1 for c in counts if c <= 100) == 100  # exactly the limit was let through


def test_on_the_cluster_buckets_live_on_every_master(cluster_state, redis_cluster):
    state_redis = cluster_state
    buckets = [f"reads:ip:10.0.0.{n}" for n in range(30)]
    for bucket in buckets:
        assert ratelimit.hit(bucket, limit=1, window_seconds=60).allowed
        assert not ratelimit.hit(bucket, limit=1, window_seconds=60).allowed
    owners = {state_redis.get_node_from_key(redis_client.key("ratelimit", b)).port for b in buckets}
    assert owners == {node.port for node in redis_cluster.nodes}
    # Each count sits on the master that owns its slot, as a plain key with its window's expiry.
    for bucket in buckets:
        key = redis_client.key("ratelimit", bucket)
        owner = redis.Redis(port=state_redis.get_node_from_key(key).port)
        assert (int(owner.get(key)), 0 < owner.pttl(key) <= 60_000) == (2, True)


def test_an_unreachable_redis_is_reported_as_unavailable(settings):
    for url in ("redis://127.0.0.1:1/0", "redis+cluster://127.0.0.1:1,127.0.0.1:2/"):
        settings.SELFPLAY_REDIS_STATE_URL = url
        with pytest.raises(ratelimit.RateLimitUnavailable):
            ratelimit.hit("commands:player:alice", limit=3, window_seconds=60)


@pytest.mark.django_db
def test_reads_are_limited_per_client_through_the_api(state_redis, settings):
    settings.SELFPLAY_READ_RATE_LIMIT = 3
    client = APIClient()
    key = f"nowhere-{uuid.uuid4().hex[:8]}"
    answers = [client.get(f"/projection/world?key={key}").status_code for _ in range(5)]
    assert answers == [404, 404, 404, 429, 429]
    assert int(state_redis.get(redis_client.key("ratelimit", "reads:ip:127.0.0.1"))) == 5
