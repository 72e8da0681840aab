"""Small steering helpers shared by the built-in brains.

They read a `WorldView` around one agent and return actions; randomness comes only from the
RNG passed in, and only through `rng.random()` so that brains replay across Python versions.
"""

from __future__ import annotations

import random

from selfplay.world.rules import INVENTORY_LIMIT
from selfplay.world.view import NEIGHBOUR_STEPS, WorldView


def pick(rng: random.Random, options: list | tuple):
    """Return one of options, drawn with `rng.random()` only."""
    return options[int(rng.random() * len(options))]


def sign(n: int) -> int:
    return (n > 0) - (n < 0)


def move(dx: int, dy: int) -> dict:
    return {"type": "move", "dx": dx, "dy": dy}


def rest() -> dict:
    return {"type": "rest"}


def eat() -> dict:
    return {"type": "eat", "resource": "berries"}


def carried(state: dict) -> int:
    return sum(state["inventory"].values())


def has_room(state: dict) -> bool:
    return carried(state) < INVENTORY_LIMIT


def reachable(view: WorldView, x: int, y: int, resource: str) -> tuple[int, int] | None:
    """Return the (dx, dy) of a tile with resource under or next to (x, y), own tile first."""
    found = view.resource_at(x, y)
    if found and found[0] == resource and found[1] > 0:
        return 0, 0
    for dx, dy in NEIGHBOUR_STEPS:
        found = view.resource_at(x + dx, y + dy)
        if found and found[0] == resource and found[1] > 0:
            return dx, dy
    return None


def gather(dx: int, dy: int) -> dict:
    return {"type": "gather", "dx": dx, "dy": dy}


def random_step(view: WorldView, x: int, y: int, rng: random.Random) -> dict | None:
    """Return a move to a random free neighbouring tile, or None when boxed in."""
    free = [(dx, dy) for dx, dy in NEIGHBOUR_STEPS if view.free(x + dx, y + dy)]
    return move(*pick(rng, free)) if free else None


def step_towards(
    view: WorldView, x: int, y: int, tx: int, ty: int, rng: random.Random
) -> dict | None:
    """Return a move that brings (x, y) closer to (tx, ty), sidestepping when blocked."""
    dx, dy = sign(tx - x), sign(ty - y)
    if dx == dy == 0:
        return None
    candidates = [(dx, dy)]
    if dx and dy:
        candidates += [(dx, 0), (0, dy)] if rng.random() < 0.5 else [(0, dy), (dx, 0)]
    else:
        # Straight ahead is blocked: try the two diagonals that still make progress.
        side = [(dx or -1, dy or -1), (dx or 1, dy or 1)]
        candidates += side if rng.random() < 0.5 else side[::-1]
    for cx, cy in candidates:
        if view.free(x + cx, y + cy):
            return move(cx, cy)
    return random_step(view, x, y, rng)
