"""The Redis client factory: plain URLs give redis.Redis, redis+cluster:// URLs a RedisCluster."""

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured
from redis.cluster import RedisCluster

from selfplay import redis_client


@pytest.mark.parametrize("url,nodes", [
    ("redis+cluster://10.0.0.1:7000,10.0.0.2:7001/", [("10.0.0.1", 7000), ("10.0.0.2", 7001)]),
    ("rediss+cluster://user:p%40ss:w@cache-a:7000,cache-b/", [("cache-a", 7000), ("cache-b", 6379)]),
    ("redis+cluster://[::1]:7000/", [("::1", 7000)]),
])
def test_cluster_urls_name_their_startup_nodes(url, nodes):
    assert redis_client.is_cluster_url(url)
    assert redis_client.cluster_nodes(url) == nodes


def test_plain_urls_are_not_clusters_and_empty_cluster_urls_are_refused():
    assert not redis_client.is_cluster_url("redis://127.0.0.1:6379/0")
    with pytest.raises(ImproperlyConfigured, match="names no node"):
        redis_client.cluster_nodes("redis+cluster:///")


def test_the_state_client_follows_the_setting(settings, redis_cluster):
    assert isinstance(redis_client.client(), redis.Redis)
    assert redis_client.state_url() == settings.REDIS_URL
    settings.SELFPLAY_REDIS_STATE_URL = redis_cluster.url
    client = redis_client.client()
    assert isinstance(client, RedisCluster)
    assert {node.port for node in client.get_primaries()} == {node.port for node in redis_cluster.nodes}
    assert redis_client.client_for(settings.REDIS_URL) is not client  # the broker's stays plain
