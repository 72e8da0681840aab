"""TEST-ONLY settings: the project's, plus the `slow` brain (tests/e2e/slow_brain.py)."""

from selfplay.settings import *  # noqa: F403

SELFPLAY_BRAINS = {**SELFPLAY_BRAINS, "slow": "tests.e2e.slow_brain.SlowPlanner"}  # noqa: F405
