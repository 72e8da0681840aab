"""Fixtures of the living-world service tests: a small region on a fixed epoch, no publishing."""

from datetime import UTC, datetime

import pytest

from agents import runtime

from .worlds import make_region


@pytest.fixture(autouse=True)
def no_publishing(settings):
    """Nobody listens in these tests; only the publish test turns it back on."""
    settings.SELFPLAY_PUBLISH_EVENTS = False


@pytest.fixture(autouse=True)
def fresh_brains():
    """Brains are cached by name; forget them around each test so overrides cannot leak."""
    runtime.brain_named.cache_clear()
    yield
    runtime.brain_named.cache_clear()


@pytest.fixture
def epoch() -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def region(db, epoch):
    """Region `vale` (16x16, 2 s cadence) with four agents, one per built-in brain."""
    return make_region("vale", epoch=epoch, agents={
        "ada": "builder", "bob": "forager", "cy": "trader", "dee": "wanderer",
    })
