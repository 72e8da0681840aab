"""Fixtures of the capability tests: test brains, a region, and a queue that only records."""

import pytest

from agents.capabilities import tick

from ..worlds import make_region
from .helpers import TEST_BRAINS


@pytest.fixture(autouse=True)
def sent(monkeypatch) -> list[dict]:
    """The requests the tick hands to the capabilities queue after commit (no broker here)."""
    queued: list[dict] = []
    monkeypatch.setattr(tick, "enqueue", queued.extend)
    return queued


@pytest.fixture(autouse=True)
def test_brains(settings):
    settings.SELFPLAY_BRAINS = {**settings.SELFPLAY_BRAINS, **TEST_BRAINS}


@pytest.fixture
def budget(settings):
    settings.SELFPLAY_CAPABILITY_BUDGET_CAP = 20
    settings.SELFPLAY_CAPABILITY_BUDGET_REFILL = 1
    settings.SELFPLAY_CAPABILITY_COSTS = {"hash": 1, "store": 2, "notify": 3, "read_public": 5,
                                          "read_authenticated": 5, "post": 8}


@pytest.fixture
def hall(epoch, budget):
    """Region `hall` with ada (hasher) and bo (asker)."""
    return make_region("hall", epoch=epoch, agents={"ada": "hasher", "bo": "asker"})
