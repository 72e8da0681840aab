"""Seeds and seeded randomness that stay the same across processes and Python versions.

Seeds are derived by hashing (never Python's `hash()`, which is salted per process). Only
`Random.random()` is used for game outcomes: it is the one method whose sequence Python
promises to keep for a given integer seed, whereas `shuffle`, `choice` and `randrange` have
changed algorithm between versions before.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from selfplay.canonical import sha256_hex

T = TypeVar("T")


def derive_seed(*parts: object) -> int:
    """Return a 64-bit seed from the given parts, stable everywhere."""
    text = "\x1f".join(str(part) for part in parts)
    return int(sha256_hex(text)[:16], 16)


def tick_seed(world_seed: int, tick: int) -> int:
    """Return the seed that resolves conflicts in one tick of a world."""
    return derive_seed("selfplay.tick", int(world_seed), int(tick))


def agent_seed(world_seed: int, tick: int, agent_id: str) -> int:
    """Return the seed for one agent's brain in one tick."""
    return derive_seed("selfplay.agent", int(world_seed), int(tick), agent_id)


def agent_rng(world_seed: int, tick: int, agent_id: str) -> random.Random:
    """Return a fresh RNG for one agent's brain in one tick."""
    return random.Random(agent_seed(world_seed, tick, agent_id))


def below(rng: random.Random, n: int) -> int:
    """Return an integer in 0..n-1 drawn with `rng.random()` only."""
    return int(rng.random() * n)


def shuffled(items: Sequence[T], rng: random.Random) -> list[T]:
    """Return a Fisher-Yates shuffle of items drawn with `rng.random()` only."""
    result = list(items)
    draw = rng.random
    for i in range(len(result) - 1, 0, -1):
        j = int(draw() * (i + 1))
        result[i], result[j] = result[j], result[i]
    return result
