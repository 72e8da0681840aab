"""Region generation and spawn placement, both a pure function of a seed."""

from __future__ import annotations

import random

from .actions import AGENT_ID_RE
from .rules import (
    BUSH,
    CAPACITY,
    DEFAULT_HEIGHT,
    DEFAULT_WIDTH,
    FOREST,
    GRASS,
    MAX_SIDE,
    RESOURCE_OF_TERRAIN,
    ROCKS,
    RULES_VERSION,
    WATER,
)
from .seeds import below, derive_seed
from .view import world_view

# (terrain, blobs per 1,000 tiles, min radius, max radius, may paint over)
_FEATURES = (
    (WATER, 2.0, 2, 5, GRASS),
    (FOREST, 4.0, 1, 4, GRASS),
    (ROCKS, 4.0, 1, 2, GRASS),
    (BUSH, 8.0, 1, 2, GRASS),
)
# Lone bushes and boulders (per 1,000 tiles) so that no stretch of grass is barren.
_SCATTER = ((BUSH, 15.0), (ROCKS, 4.0), (FOREST, 4.0))
_MIN_SIDE = 4


def _paint_blob(terrain: bytearray, width: int, height: int, rng: random.Random, spec) -> None:
    code, _, low, high, over = spec
    cx, cy = below(rng, width), below(rng, height)
    radius = low + below(rng, high - low + 1)
    code_b, over_b = ord(code), ord(over)
    for y in range(max(0, cy - radius), min(height, cy + radius + 1)):
        for x in range(max(0, cx - radius), min(width, cx + radius + 1)):
            # A random threshold per tile frays the blob's edge.
            reach = (radius + 0.5) ** 2 * (0.3 + 0.7 * rng.random())
            i = y * width + x
            if (x - cx) ** 2 + (y - cy) ** 2 <= reach and terrain[i] == over_b:
                terrain[i] = code_b


def generate_terrain(*, seed: int, width: int, height: int) -> str:
    """Return the flat terrain string of a region, one character per tile."""
    rng = random.Random(derive_seed("selfplay.terrain", int(seed), width, height))
    terrain = bytearray(GRASS.encode() * (width * height))
    area = width * height
    for spec in _FEATURES:
        for _ in range(max(1, round(spec[1] * area / 1000))):
            _paint_blob(terrain, width, height, rng, spec)
    grass = ord(GRASS)
    for code, per_thousand in _SCATTER:
        for _ in range(round(per_thousand * area / 1000)):
            i = below(rng, area)
            if terrain[i] == grass:
                terrain[i] = ord(code)
    return terrain.decode()


def new_region(
    region: str, *, seed: int, width: int = DEFAULT_WIDTH, height: int = DEFAULT_HEIGHT
) -> dict:
    """Return the data of a `world.created` event for a freshly generated region."""
    if type(region) is not str or not AGENT_ID_RE.fullmatch(region):
        raise ValueError("region must match [a-z0-9][a-z0-9-]{0,63}")
    if type(seed) is not int:
        raise ValueError("seed must be an integer")
    for name, side in (("width", width), ("height", height)):
        if type(side) is not int or not _MIN_SIDE <= side <= MAX_SIDE:
            raise ValueError(f"{name} must be an integer in {_MIN_SIDE}..{MAX_SIDE}")
    terrain = generate_terrain(seed=seed, width=width, height=height)
    amounts = [CAPACITY[RESOURCE_OF_TERRAIN[c]] if c in RESOURCE_OF_TERRAIN else 0 for c in terrain]
    return {
        "region": region,
        "seed": seed,
        "width": width,
        "height": height,
        "rulesVersion": RULES_VERSION,
        "tiles": {"terrain": terrain, "amounts": amounts},
    }


def spawn_position(world_state: dict, *, rng: random.Random) -> tuple[int, int]:
    """Return a random passable tile nobody stands on; raise ValueError if there is none."""
    return spawn_positions(world_state, 1, rng=rng)[0]


def spawn_positions(world_state: dict, count: int, *, rng: random.Random) -> list[tuple[int, int]]:
    """Return count distinct free tiles, as successive `spawn_position` calls would."""
    view = world_view(world_state)
    width, height = view.width, view.height
    taken: set[int] = set()

    def free(i: int) -> bool:
        return i not in taken and view.free(i % width, i // width)

    positions = []
    area = width * height
    for _ in range(count):
        for _ in range(64):
            i = below(rng, width) + below(rng, height) * width
            if free(i):
                break
        else:
            # A crowded region: walk from a random tile so the answer is still spread out.
            start = below(rng, area)
            i = next((j % area for j in range(start, start + area) if free(j % area)), None)
            if i is None:
                raise ValueError(f"region {world_state.get('region')!r} has no free tile")
        taken.add(i)
        positions.append((i % width, i // width))
    return positions
