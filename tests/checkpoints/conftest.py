"""Fixtures of the checkpoint tests: no publishing, a fixed epoch, Redis under a private prefix."""

import uuid
from datetime import UTC, datetime

import pytest
import redis
from django.conf import settings as django_settings

from checkpoints.storage import RedisStorage
from selfplay.redis_client import client_for as redis_client

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_publishing(settings):
    """Nobody listens in these tests."""
    settings.SELFPLAY_PUBLISH_EVENTS = False


@pytest.fixture
def epoch() -> datetime:
    return EPOCH


@pytest.fixture
def redis_prefix(settings):
    """Point Redis checkpoint keys at a prefix of this test alone; delete them afterwards.

    Redis must be running (127.0.0.1:6379 by default): these tests fail rather than skip.
    """
    url = django_settings.REDIS_URL
    client = redis_client(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {url} ({exc}); start redis-server (make redis): "
                    "the checkpoint Redis backend tests never skip")
    prefix = f"selfplay-test-{uuid.uuid4().hex[:12]}"
    settings.SELFPLAY_REDIS_PREFIX = prefix
    yield prefix
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def redis_storage(redis_prefix, settings) -> RedisStorage:
    """Make Redis the backend of new checkpoints, under this test's prefix."""
    settings.SELFPLAY_CHECKPOINT_STORAGE = "checkpoints.storage.RedisStorage"
    return RedisStorage()
