"""Local worlds on a hand-driven clock with predictable ids, for the tests of selfplay.local."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from selfplay.local.engine import Batch, LocalWorld, Schedule, local_agents

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
REGION = "loc-test0001"


@dataclass
class Clock:
    now: datetime = EPOCH

    def __call__(self) -> datetime:
        return self.now

    def at_tick(self, tick: float, tick_seconds: int = 2) -> datetime:
        self.now = EPOCH + timedelta(seconds=tick * tick_seconds)
        return self.now


@dataclass
class Ids:
    counter: itertools.count = field(default_factory=itertools.count)

    def __call__(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"selfplay-test/{next(self.counter)}"))


@dataclass
class LocalRun:
    """A local world and every event it recorded, in global order."""

    engine: LocalWorld
    clock: Clock
    ids: Ids
    events: list[dict]
    checkpoints: list[dict]

    def take(self, batches: list[Batch] | Batch) -> list[Batch]:
        batches = [batches] if isinstance(batches, Batch) else batches
        for batch in batches:
            self.events.extend(batch.events)
            if batch.checkpoint:
                self.checkpoints.append(batch.checkpoint)
        return batches

    def run_to(self, tick: float) -> list[Batch]:
        """Advance the clock to `tick` intervals after the epoch and record what is due."""
        return self.take(self.engine.advance(self.clock.at_tick(tick, self.engine.schedule.tick_seconds)))

    def of(self, stream_id: str, type_: str | None = None) -> list[dict]:
        return [e for e in self.events if e["streamId"] == stream_id and (type_ is None or e["type"] == type_)]


def local_run(*, region: str = REGION, seed: int = 7, width: int = 16, height: int = 12, per_brain: int = 1,
              tick_seconds: int = 2, max_catchup: int = 30, plan_every: int = 30,
              checkpoint_every: int = 500) -> LocalRun:
    clock, ids = Clock(), Ids()
    schedule = Schedule(epoch=EPOCH, tick_seconds=tick_seconds, max_catchup=max_catchup, plan_every=plan_every,
                        checkpoint_every=checkpoint_every)
    engine, first = LocalWorld.create(region=region, seed=seed, width=width, height=height,
                                      agents=local_agents(region, per_brain), schedule=schedule, clock=clock,
                                      new_id=ids, timer=lambda: 0.0)
    run = LocalRun(engine, clock, ids, [], [])
    run.take(first)
    return run


def resumed(run: LocalRun, *, checkpoint: dict | None = None, events: list[dict] | None = None) -> LocalWorld:
    """Return the world rebuilt from a checkpoint (or nothing) and the events after it."""
    after = checkpoint["globalPosition"] if checkpoint else 0
    tail = [e for e in (run.events if events is None else events) if e["globalPosition"] > after]
    return LocalWorld.resume(region=run.engine.region, checkpoint=checkpoint, events=tail,
                             schedule=run.engine.schedule, clock=run.clock, new_id=run.ids, timer=lambda: 0.0)
