"""A read-only index over a world state for questions about one small neighbourhood.

Brains and the spawner ask "who stands on (x, y)?" and "where is the nearest berry bush?"
thousands of times per tick; answering from the raw state would mean scanning every agent.
`world_view(state)` builds the occupancy index once per state object and hands the same view
to every caller in that tick. A view describes the state as it was when built: states are
values, so a changed world is a new state object and gets a new view.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from .rules import RESOURCE_OF_TERRAIN, WATER

# Offsets within radius 16, nearest first (Chebyshev ring, then Manhattan distance, then
# row-major) so that "nearest" has one deterministic answer.
_MAX_RADIUS = 16
_OFFSETS = sorted(
    ((dx, dy) for dy in range(-_MAX_RADIUS, _MAX_RADIUS + 1) for dx in range(-_MAX_RADIUS, _MAX_RADIUS + 1)),
    key=lambda d: (max(abs(d[0]), abs(d[1])), abs(d[0]) + abs(d[1]), d[1], d[0]),
)
# _RING_END[r] = how many offsets lie within Chebyshev radius r.
_RING_END = [(2 * r + 1) ** 2 for r in range(_MAX_RADIUS + 1)]

NEIGHBOUR_STEPS = tuple(d for d in _OFFSETS[1:9])


class WorldView:
    """Answer local questions about one world state in O(1) or O(radius^2)."""

    __slots__ = ("state", "width", "height", "terrain", "amounts", "structures", "occupancy")

    def __init__(self, state: dict):
        self.state = state
        self.width = state["width"]
        self.height = state["height"]
        tiles = state["tiles"]
        self.terrain = tiles["terrain"]
        self.amounts = tiles["amounts"]
        self.structures = state.get("structures", {})
        width = self.width
        self.occupancy = {a["y"] * width + a["x"]: aid for aid, a in state["agents"].items()}

    def inside(self, x: int, y: int) -> bool:
        return 0 <= x < self.width and 0 <= y < self.height

    def passable(self, x: int, y: int) -> bool:
        return 0 <= x < self.width and 0 <= y < self.height and self.terrain[y * self.width + x] != WATER

    def free(self, x: int, y: int) -> bool:
        """Return whether an agent could step onto (x, y) now: passable and unoccupied."""
        if not (0 <= x < self.width and 0 <= y < self.height):
            return False
        i = y * self.width + x
        return self.terrain[i] != WATER and i not in self.occupancy

    def agent_at(self, x: int, y: int) -> str | None:
        if not (0 <= x < self.width and 0 <= y < self.height):
            return None
        return self.occupancy.get(y * self.width + x)

    def resource_at(self, x: int, y: int) -> tuple[str, int] | None:
        """Return (resource, amount) of a resource tile, None for grass, water or outside."""
        if not (0 <= x < self.width and 0 <= y < self.height):
            return None
        i = y * self.width + x
        resource = RESOURCE_OF_TERRAIN.get(self.terrain[i])
        return None if resource is None else (resource, self.amounts[i])

    def structure_at(self, x: int, y: int) -> dict | None:
        return self.structures.get(f"{x},{y}")

    def nearest(self, x: int, y: int, resource: str, *, radius: int) -> tuple[int, int] | None:
        """Return the nearest tile within radius holding at least one unit of resource."""
        width, height, terrain, amounts = self.width, self.height, self.terrain, self.amounts
        for dx, dy in _OFFSETS[: _RING_END[min(radius, _MAX_RADIUS)]]:
            tx, ty = x + dx, y + dy
            if 0 <= tx < width and 0 <= ty < height:
                i = ty * width + tx
                if amounts[i] and RESOURCE_OF_TERRAIN.get(terrain[i]) == resource:
                    return tx, ty
        return None

    def around(self, x: int, y: int, *, radius: int) -> Iterator[tuple[int, int]]:
        """Yield the tiles within radius of (x, y) inside the region, nearest first."""
        width, height = self.width, self.height
        for dx, dy in _OFFSETS[: _RING_END[min(radius, _MAX_RADIUS)]]:
            if 0 <= x + dx < width and 0 <= y + dy < height:
                yield x + dx, y + dy

    def neighbours(self, x: int, y: int) -> Iterator[tuple[int, int]]:
        """Yield the up-to-8 tiles adjacent to (x, y) inside the region, nearest first."""
        for dx, dy in NEIGHBOUR_STEPS:
            if 0 <= x + dx < self.width and 0 <= y + dy < self.height:
                yield x + dx, y + dy

    def agents_near(self, x: int, y: int, *, radius: int) -> list[str]:
        """Return the ids of other agents within radius, nearest first."""
        found = []
        width, height, occupancy = self.width, self.height, self.occupancy
        for dx, dy in _OFFSETS[1 : _RING_END[min(radius, _MAX_RADIUS)]]:
            tx, ty = x + dx, y + dy
            if 0 <= tx < width and 0 <= ty < height:
                aid = occupancy.get(ty * width + tx)
                if aid is not None:
                    found.append(aid)
        return found


# One slot is enough: a tick asks about one state. Holding a strong reference to the state
# keeps its id from being reused while the slot points at it.
_cache = threading.local()


def world_view(state: dict) -> WorldView:
    """Return the (cached) view of a world state."""
    view = getattr(_cache, "view", None)
    if view is None or view.state is not state:
        view = WorldView(state)
        _cache.view = view
    return view
