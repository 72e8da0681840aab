"""The numbers that define the game: terrain, resources, energy, structures, scores.

Everything here is data so that the rules read as one table. Changing a value changes what
recorded decisions evaluate to, so bump RULES_VERSION with any change: `world.created`
records the version a world was generated and played under.
"""

from __future__ import annotations

# 2: at most MAX_STRUCTURES_PER_AGENT structures per agent
# 3: the `use` action (a capability request) is valid; under 1 and 2 it stays invalid_action
RULES_VERSION = 3
USE_MIN_RULES_VERSION = 3

DEFAULT_WIDTH = 48
DEFAULT_HEIGHT = 32
MAX_SIDE = 1024

# Terrain is one character per tile, in a flat string indexed by y * width + x.
GRASS = "."
WATER = "~"
BUSH = "b"
FOREST = "f"
ROCKS = "r"
TERRAIN_CODES = (GRASS, WATER, BUSH, FOREST, ROCKS)

RESOURCES = ("berries", "stone", "wood")
RESOURCE_OF_TERRAIN = {BUSH: "berries", FOREST: "wood", ROCKS: "stone"}
TERRAIN_OF_RESOURCE = {resource: code for code, resource in RESOURCE_OF_TERRAIN.items()}

# A depleted tile grows one unit back every REGROW_EVERY ticks, up to CAPACITY. Tiles are
# staggered by index so a field regrows patchily rather than all at once.
CAPACITY = {"berries": 5, "stone": 6, "wood": 8}
REGROW_EVERY = {"berries": 3, "stone": 12, "wood": 6}

MAX_ENERGY = 100
START_ENERGY = 80
ENERGY_DECAY = 1
REST_GAIN = 4
BERRY_ENERGY = 15
EDIBLE = {"berries": BERRY_ENERGY}
INVENTORY_LIMIT = 20

# Energy an action costs on success, on top of the decay every active agent pays each tick.
ACTION_COST = {
    "move": 1,
    "gather": 2,
    "eat": 0,
    "rest": 0,
    "build": 6,
    "give": 0,
    "say": 0,
    "idle": 0,
    "use": 0,  # a capability is paid for from the agent's capability budget, not its energy
}
# An agent at zero energy may still do these; anything else fails "exhausted".
ALLOWED_WHEN_EXHAUSTED = frozenset({"rest", "eat", "idle", "say", "use"})

STRUCTURES = {
    "hut": {"cost": {"stone": 2, "wood": 3}, "score": 10, "restGain": 8},
    "campfire": {"cost": {"wood": 2}, "score": 3, "restGain": 6},
}

# From rules version 2 (worlds created under version 1 keep playing by version 1): an agent owns at
# most this many structures, so that a few hundred ticks of builders do not carpet the map.
MAX_STRUCTURES_PER_AGENT = 3

SCORE_GATHER = 1
SCORE_GIVE = 1

SAY_MAX_CHARS = 140

# The arguments of a `use` action, as canonical JSON, are at most this long: they are recorded
# twice (the decision and `capability.requested`) and a brain should not fill the log.
USE_ARGS_MAX_CHARS = 2048
