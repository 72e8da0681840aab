"""Time one tick of the pure core: brains, evaluate_tick, folds. Not a test; run by hand:

    .venv/bin/python -m tests.world.timing_tick
"""

from __future__ import annotations

import random
import statistics
import time

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
    world_checksum,
)

SEED = 20261126


def build(count: int, width: int, height: int):
    """Return (world, agents, leaderboard) states with count agents spawned."""
    created = {"type": "world.created", "data": new_region("bench", seed=SEED, width=width, height=height)}
    world = fold("world", initial_state("world", "bench"), [created])
    names = sorted(brains_by_name())
    spawned = [
        {
            "type": "agent.spawned",
            "data": {
                "agentId": f"a{i:05d}", "name": f"Agent {i}", "region": "bench",
                "brain": names[i % len(names)], "owner": None, "x": x, "y": y,
            },
        }
        for i, (x, y) in enumerate(spawn_positions(world, count, rng=random.Random(SEED)))
    ]
    return (
        fold("world", world, spawned),
        fold("agents", initial_state("agents", "all"), spawned),
        fold("leaderboard", initial_state("leaderboard", "all"), spawned),
    )


def run(count: int, width: int, height: int, ticks: int = 5) -> dict[str, float]:
    world, agents, board = build(count, width, height)
    brains = brains_by_name()
    plans = {}
    for aid, entry in world["agents"].items():
        ctx = AgentContext(aid, entry["name"], "bench", 0, entry, None, agent_rng(SEED, 0, aid))
        plans[aid] = brains[entry["brain"]].plan(ctx, world)
    samples: dict[str, list[float]] = {}

    def lap(name: str, start: float) -> float:
        now = time.perf_counter()
        samples.setdefault(name, []).append((now - start) * 1000)
        return now

    for tick in range(1, ticks + 1):
        t0 = time.perf_counter()
        decisions = {}
        for aid, entry in world["agents"].items():
            ctx = AgentContext(
                aid, entry["name"], "bench", tick, entry, plans[aid], agent_rng(SEED, tick, aid)
            )
            decisions[aid] = brains[entry["brain"]].tick(ctx, world)[0]
        t = lap("brains", t0)
        outcomes = evaluate_tick(world, decisions, tick=tick, seed=tick_seed(SEED, tick))
        t = lap("evaluate", t)
        world = fold("world", world, outcomes + [("world.tick.completed", {"tick": tick})])
        t = lap("fold_world", t)
        agents = fold("agents", agents, outcomes)
        board = fold("leaderboard", board, outcomes)
        t = lap("fold_agents_leaderboard", t)
        world_checksum(world)
        lap("checksum", t)
        samples.setdefault("total_without_checksum", []).append(
            sum(samples[k][-1] for k in ("brains", "evaluate", "fold_world", "fold_agents_leaderboard"))
        )
    # Cross-check: close_tick does the same fold and checksum in one go.
    close_tick(world, [], tick=ticks + 1, duration_ms=0)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    for count, width, height in ((1_000, 64, 64), (10_000, 200, 200)):
        timings = run(count, width, height)
        parts = " ".join(f"{name}={ms:.1f}ms" for name, ms in timings.items())
        print(f"{count} agents on {width}x{height}: {parts}")


if __name__ == "__main__":
    main()
