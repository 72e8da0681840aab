"""The library a user would pick instead: `eventsourcing` with its SQLite recorder.

The same shape as our append bench: 1,000 aggregates, 100 ticks, one `save` of every aggregate
per tick (one transaction), each holding one new event with the same payload. Creating the events
is timed on both sides (here `agent.move(...)`, there building the NewEvent list).
"""

from __future__ import annotations

import time
from pathlib import Path

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event


class Agent(Aggregate):
    @event("ActionSubmitted")
    def submit(self, tick: int, action: dict, source: str) -> None:
        self.last_tick = tick


def append_seconds(path: Path, ticks: int, agents: int) -> float:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path),
                           "SQLITE_LOCK_TIMEOUT": "30"})
    aggregates = [Agent() for _ in range(agents)]
    app.save(*aggregates)  # the streams exist before the clock starts, as ours do after tick 0
    start = time.perf_counter()
    for tick in range(ticks):
        for aggregate in aggregates:
            aggregate.submit(tick=tick, action={"type": "move", "dx": 1, "dy": 0}, source="brain")
        app.save(*aggregates)
    seconds = time.perf_counter() - start
    app.close()
    return seconds
