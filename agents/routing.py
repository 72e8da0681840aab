"""Which Celery queue runs what: simulation ticks by region shard, planning and capabilities on
queues of their own (CELERY_TASK_ROUTES names the same queues).

Ticks of different regions run in parallel on as many workers as consume their queues. With
`SELFPLAY_TICK_SHARDS = n > 0` each region's simulation ticks go to queue `ticks.<shard>`, shard
= crc32(region id) % n (stable across processes and restarts, unlike Python's `hash`), so a
simulation worker started with `-Q ticks.0,ticks.1` keeps the same regions and their warm state;
with 0 every tick goes to the default queue and any worker takes any region.

Routing is about throughput, never about correctness: a region's ticks stay strictly serial
whichever workers run them. `run_tick` locks the region's row (SELECT … FOR UPDATE on
PostgreSQL; SQLite has one writer) before it reads the tick it will simulate, and records with
the world stream's head as expected version, so a second worker on the same region waits for
the first to commit, then finds the tick done (`WrongExpectedVersion`: it stops, `lostRace`).
"""

from __future__ import annotations

import zlib

from django.conf import settings

DEFAULT_QUEUE = "celery"
CAPABILITY_QUEUE = "capabilities"


def tick_shard(region_id: str, shards: int) -> int:
    """Return the shard of a region's simulation ticks among `shards`."""
    return zlib.crc32(region_id.encode("utf-8")) % shards


def tick_queue(region_id: str) -> str:
    """Return the queue of a region's simulation ticks."""
    shards = settings.SELFPLAY_TICK_SHARDS
    return f"ticks.{tick_shard(region_id, shards)}" if shards > 0 else DEFAULT_QUEUE


def planning_queue() -> str:
    return settings.SELFPLAY_PLANNING_QUEUE or DEFAULT_QUEUE


def queue_names(shards: int, planning: str) -> list[str]:
    """Return every queue Selfplay sends to with these settings (settings.py declares them)."""
    return list(dict.fromkeys([DEFAULT_QUEUE, *(f"ticks.{n}" for n in range(shards)), planning or DEFAULT_QUEUE,
                               CAPABILITY_QUEUE]))


def task_queues() -> list[str]:
    """Return every queue Selfplay sends to (for workers' -Q and for monitoring queue depths)."""
    return queue_names(settings.SELFPLAY_TICK_SHARDS, settings.SELFPLAY_PLANNING_QUEUE)


def route(queue: str) -> dict:
    """Return apply_async's routing options for `queue` (none for the default queue)."""
    return {} if queue == DEFAULT_QUEUE else {"queue": queue}
