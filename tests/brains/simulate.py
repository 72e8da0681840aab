"""Run brains against the real rules for a few ticks, as the runtime would (without storage)."""

from __future__ import annotations

import random

from agents.brains import AgentContext, brains_by_name
from selfplay.world import (
    agent_rng,
    close_tick,
    evaluate_tick,
    fold,
    initial_state,
    new_region,
    spawn_positions,
    tick_seed,
)

BRAINS = ("builder", "forager", "trader", "wanderer")


def populated(*, seed: int = 3, per_brain: int = 4, width: int = 24, height: int = 16) -> dict:
    """Return a fresh region with per_brain agents of each built-in brain."""
    created = {"type": "world.created", "data": new_region("meadow", seed=seed, width=width, height=height)}
    state = fold("world", initial_state("world", "meadow"), [created])
    names = [name for name in BRAINS for _ in range(per_brain)]
    spots = spawn_positions(state, len(names), rng=random.Random(seed))
    spawned = [
        {"type": "agent.spawned", "data": {
            "agentId": f"{name}-{i}", "name": f"{name.title()} {i}", "region": "meadow",
            "brain": name, "owner": None, "x": x, "y": y,
        }}
        for i, (name, (x, y)) in enumerate(zip(names, spots, strict=True))
    ]
    return fold("world", state, spawned)


def context(state: dict, agent_id: str, *, tick: int, seed: int, plan: dict | None = None) -> AgentContext:
    entry = state["agents"][agent_id]
    return AgentContext(
        agent_id, entry["name"], state["region"], tick, entry, plan, agent_rng(seed, tick, agent_id)
    )


def simulate(state: dict, *, ticks: int, seed: int, plan_every: int = 10):
    """Return (final state, [(tick, agentId, brain, decisions, outcome)]) after ticks ticks."""
    brains = brains_by_name()
    plans: dict[str, dict | None] = {}
    log = []
    for tick in range(state["tick"] + 1, state["tick"] + 1 + ticks):
        active = sorted(aid for aid, a in state["agents"].items() if a["status"] == "active")
        if (tick - 1) % plan_every == 0:
            for aid in active:
                brain = brains[state["agents"][aid]["brain"]]
                plans[aid] = brain.plan(context(state, aid, tick=tick, seed=seed), state)
        chosen, decisions = {}, {}
        for aid in active:
            brain = brains[state["agents"][aid]["brain"]]
            chosen[aid] = brain.tick(context(state, aid, tick=tick, seed=seed, plan=plans.get(aid)), state)
            decisions[aid] = chosen[aid][0] if chosen[aid] else {"type": "idle"}
        outcomes = evaluate_tick(state, decisions, tick=tick, seed=tick_seed(seed, tick))
        by_id = {data["agentId"]: (kind, data) for kind, data in outcomes}
        log += [(tick, aid, state["agents"][aid]["brain"], chosen[aid], by_id[aid]) for aid in active]
        _, state = close_tick(state, outcomes, tick=tick, duration_ms=0)
    return state, log
