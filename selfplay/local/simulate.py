"""A local world run in memory on a fixed clock and fixed ids: what two runtimes must agree on.

The cross-runtime test runs `run` in CPython and, through the Web Worker, in Pyodide in
Chromium, and compares the answers: every tick's world checksum, a digest of every tick's
decisions, every checkpoint's checksum and every stream's last hash.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from selfplay.canonical import canonical_json, sha256_hex

from .engine import LocalWorld, Schedule, local_agents

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_IDS = uuid.UUID("6f1c0000-5e1f-4a1a-9000-000000000010")


def run(*, region: str, seed: int, width: int = 48, height: int = 32, per_brain: int = 5, ticks: int = 500,
        tick_seconds: int = 2, plan_every: int = 30, checkpoint_every: int = 500) -> dict:
    """Create a world and run `ticks` ticks; return checksums, decision digests, checkpoints, heads."""
    now = [EPOCH]
    counter = itertools.count()
    engine, first = LocalWorld.create(
        region=region, seed=seed, width=width, height=height, agents=local_agents(region, per_brain),
        schedule=Schedule(epoch=EPOCH, tick_seconds=tick_seconds, plan_every=plan_every,
                          checkpoint_every=checkpoint_every),
        clock=lambda: now[0], new_id=lambda: str(uuid.uuid5(_IDS, f"{region}/{next(counter)}")),
        timer=lambda: 0.0)
    checksums, decisions, checkpoints, events = [], [], [], len(first.events)
    for tick in range(1, ticks + 1):
        now[0] = EPOCH + timedelta(seconds=tick * tick_seconds)
        for batch in engine.advance(now[0]):
            events += len(batch.events)
            if batch.checkpoint:
                checkpoints.append(batch.checkpoint["checksum"])
            chosen = [(e["streamId"], e["data"]["action"]) for e in batch.events if e["type"] == "agent.action.submitted"]
            if chosen:
                decisions.append(sha256_hex(canonical_json(chosen)))
            checksums += [e["data"]["checksum"] for e in batch.events if e["type"] == "world.tick.completed"]
    return {"checksums": checksums, "decisions": decisions, "checkpoints": checkpoints, "events": events,
            "heads": {stream: head[1] for stream, head in sorted(engine.state["heads"].items())}}
