"""A tick worker in its own OS process, as a Celery worker runs `agents.simulation_tick`.

    python tests/support/ticker.py setup REGION[,REGION…] AGENTS
    python tests/support/ticker.py tick REGION[,REGION…] FIRST LAST

`setup` creates the regions (epoch 2026-01-01, 2 s cadence) with AGENTS agents each. `tick`
loads Django, prints READY, waits for a line on stdin (so that several workers start together),
then for each tick FIRST..LAST ticks each of its regions at that tick's due moment (an injected
clock, as the soak does) and prints one JSON line: the ticks it recorded per region, the races
it lost, the seconds it took and how many of them it waited for the event store's write lock.
DATABASE_URL names the shared database.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfplay.settings")
os.environ.setdefault("SELFPLAY_PUBLISH_EVENTS", "0")
os.environ.setdefault("SELFPLAY_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from agents.models import Region  # noqa: E402
from agents.services import NewAgent, create_region, spawn_agents, tick_region  # noqa: E402
from events import backends  # noqa: E402
from events.projections import load_state  # noqa: E402

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
BRAINS = ["builder", "forager", "trader", "wanderer"]


def setup(regions: list[str], agents: int) -> None:
    side = max(16, int((agents * 4) ** 0.5))
    for n, region_id in enumerate(regions):
        create_region(region_id=region_id, seed=11 + n, epoch=EPOCH, width=side, height=side, tick_seconds=2)
        spawn_agents(region_id=region_id, rng_seed=11 + n, agents=[
            NewAgent(id=f"{region_id}-a{i}", name=f"Agent {i}", brain=BRAINS[i % len(BRAINS)])
            for i in range(agents)])


def timing_the_write_lock() -> list[float]:
    """Count the seconds this process waits for the event store's write locks: the writers' lock
    and, where appends run in parallel, the stream and projection rows an append locks (a
    one-item list)."""
    waited = [0.0]
    backend = type(backends.current())

    def timed(original):
        def wrapper(self, *args):
            started = time.perf_counter()
            try:
                return original(self, *args)
            finally:
                waited[0] += time.perf_counter() - started
        return wrapper

    for name in ("lock_writers", "lock_streams", "lock_projections"):
        if hasattr(backend, name):
            setattr(backend, name, timed(getattr(backend, name)))
    return waited


def tick(regions: list[str], first: int, last: int) -> dict:
    rows = {r.id: r for r in Region.objects.filter(id__in=regions)}
    lock_wait = timing_the_write_lock()
    for region_id in regions:
        load_state("world", region_id, shared=True)  # connect and read once, as a warm worker has
    print("READY", flush=True)
    sys.stdin.readline()
    ticked: dict[str, list[int]] = {region_id: [] for region_id in regions}
    lost = 0
    started = time.perf_counter()
    for n in range(first, last + 1):
        for region_id in regions:
            region = rows[region_id]
            report = tick_region(region_id=region_id, now=region.epoch + timedelta(seconds=n * region.tick_seconds))
            ticked[region_id] += report.ticks
            lost += report.lost_race
    return {"ticks": ticked, "lostRaces": lost, "seconds": time.perf_counter() - started,
            "lockWaitSeconds": lock_wait[0]}


if __name__ == "__main__":
    command, names = sys.argv[1], sys.argv[2].split(",")
    if command == "setup":
        setup(names, int(sys.argv[3]))
    else:
        print(json.dumps(tick(names, int(sys.argv[3]), int(sys.argv[4]))), flush=True)
