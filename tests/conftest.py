import uuid

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

from tests.support.redis_cluster import local_cluster, spare_redis


@pytest.fixture
def vendor() -> str:
    return connection.vendor


@pytest.fixture(autouse=True)
def isolated_redis(settings):
    """A Redis key prefix of this test's own: rate limits, login counters and checkpoint states
    never leak between tests (or between test runs sharing the server)."""
    prefix = settings.SELFPLAY_REDIS_PREFIX = f"selfplay-test-{uuid.uuid4().hex}"
    client = redis.Redis.from_url(django_settings.REDIS_URL)  # before a test points REDIS_URL elsewhere
    yield
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory):
    """A private 3-master Redis Cluster for the whole run (tests/support/redis_cluster.py)."""
    with local_cluster(tmp_path_factory.mktemp("redis-cluster")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def spare_redis_pair(tmp_path_factory):
    """Two private plain redis-servers for the whole run (never the shared one at REDIS_URL)."""
    directory = tmp_path_factory.mktemp("redis-pair")
    with spare_redis(directory) as first, spare_redis(directory) as second:
        yield first, second
