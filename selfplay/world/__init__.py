"""The game: pure, deterministic rules of a Selfplay region. Imports no Django and no app.

A tick is `evaluate_tick(state, decisions, tick=t, seed=tick_seed(world_seed, t))`, whose
outcome events are folded into the projections with `fold`, followed by
`world.tick.completed` (built with `close_tick`), which regrows resources and advances the clock.
"""

from .actions import ACTION_TYPES, ACTIONS, InvalidAction, action_schema, validate_action
from .evaluate import FAILED, SUCCEEDED, evaluate_tick
from .generate import new_region, spawn_position, spawn_positions
from .projections import (
    PROJECTIONS,
    apply_agents,
    apply_leaderboard,
    apply_world,
    close_tick,
    end_tick,
    fold,
    initial_state,
    world_checksum,
)
from .rules import RESOURCES, RULES_VERSION, STRUCTURES
from .seeds import agent_rng, agent_seed, derive_seed, tick_seed
from .view import WorldView, world_view

__all__ = [
    "ACTIONS",
    "ACTION_TYPES",
    "FAILED",
    "PROJECTIONS",
    "RESOURCES",
    "RULES_VERSION",
    "STRUCTURES",
    "SUCCEEDED",
    "InvalidAction",
    "WorldView",
    "action_schema",
    "agent_rng",
    "agent_seed",
    "apply_agents",
    "apply_leaderboard",
    "apply_world",
    "close_tick",
    "derive_seed",
    "end_tick",
    "evaluate_tick",
    "fold",
    "initial_state",
    "new_region",
    "spawn_position",
    "spawn_positions",
    "tick_seed",
    "validate_action",
    "world_checksum",
    "world_view",
]
