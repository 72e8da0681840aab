"""Regions across real workers: SELFPLAY_TICK_SHARDS=2, one Celery worker per `ticks.<n>` queue.

Real beat dispatches (a private redis-server is the broker); a control worker consumes `celery` (the dispatch), one worker `ticks.0`
and another `ticks.1`. Region r4 hashes to shard 0 and r1 to shard 1: each region's ticks must be
run by its shard's worker only, both regions tick, every tick once and in order.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agents.routing import tick_shard
from tests.support.databases import fresh_database, process_env
from tests.support.redis_cluster import spare_redis

from .processes import BIN, manage, running, wait_for
from .test_daemon import as_json, query

REGIONS = {"r4": 0, "r1": 1}
MAKE_REGIONS = """
from django.utils import timezone
from agents.services import NewAgent, create_region, spawn_agents
for n, region in enumerate(["r4", "r1"]):
    create_region(region_id=region, seed=5 + n, epoch=timezone.now(), width=16, height=16, tick_seconds=1)
    spawn_agents(region_id=region, rng_seed=5 + n, agents=[
        NewAgent(id=f"{region}-a{i}", name=f"A{i}", brain="forager") for i in range(6)])
"""


def ticks_of(url: str, region: str) -> list[int]:
    rows = query(url, "SELECT data FROM events_event WHERE stream_id = %s AND type = %s ORDER BY position",
                 (f"world:{region}", "world.tick.completed"))
    return [as_json(data)["tick"] for (data,) in rows]


def ticked_regions(log: Path) -> set[str]:
    return set(re.findall(r"region (\w+) tick \d+: ", log.read_text(errors="replace")))


def run_world(tmp_path: Path, workers: dict[str, str | None]) -> tuple[dict[str, set[str]], dict[str, list[int]]]:
    """Tick regions r4 and r1 with SELFPLAY_TICK_SHARDS=2 and these workers ({name: -Q queues, or
    None for none}); return the regions each worker ticked and each region's recorded ticks."""
    with fresh_database(tmp_path) as url, spare_redis(tmp_path) as broker:
        env = process_env(url, REDIS_URL=broker.url, SELFPLAY_SIM_TICK_SECONDS="1", SELFPLAY_TICK_SHARDS="2",
                          SELFPLAY_PLANNING_QUEUE="planning", SELFPLAY_PUBLISH_EVENTS="0")
        env.pop("CELERY_BROKER_URL", None)
        manage("shell", "-c", MAKE_REGIONS, env=env)
        manage("setup_periodic_tasks", env=env)
        with running(env, tmp_path) as processes:
            started = {}
            for name, queues in workers.items():
                argv = [str(BIN / "celery"), "-A", "selfplay.celery", "worker", "--loglevel", "INFO",
                        "--concurrency", "1", "--pool", "prefork", "-n", f"{name}-{tmp_path.name}@%h"]
                started[name] = processes.start(name, argv + (["-Q", queues] if queues else []))
            processes.celery_beat()

            def both_ticked() -> bool:
                processes.assert_healthy()
                return all(len(ticks_of(url, region)) >= 4 for region in REGIONS)

            wait_for(both_ticked, timeout=90, message="four ticks in each region")
            processes.assert_healthy()
            # SIGTERM to each process group may end a pool child inside a tick's wait for its due
            # moment (a WorkerLostError in the log): health is judged before stopping.
            processes.stop_all()
            return ({name: ticked_regions(worker.log) for name, worker in started.items()},
                    {region: ticks_of(url, region) for region in REGIONS})


def assert_serial(ticks: dict[str, list[int]]) -> None:
    for region, recorded in ticks.items():
        assert recorded == list(range(1, len(recorded) + 1)), (region, recorded)


@pytest.mark.e2e
@pytest.mark.django_db
def test_each_region_ticks_on_the_worker_of_its_shard(tmp_path: Path):
    assert {region: tick_shard(region, 2) for region in REGIONS} == REGIONS
    by_worker, ticks = run_world(tmp_path, {"control": "celery", "shard-0": "ticks.0", "shard-1": "ticks.1"})
    assert by_worker == {"control": set(), "shard-0": {"r4"}, "shard-1": {"r1"}}
    assert_serial(ticks)


@pytest.mark.e2e
@pytest.mark.django_db
def test_a_worker_without_queues_consumes_every_shard(tmp_path: Path):
    """`make run` and the Procfile start their worker without -Q: it must take every queue."""
    by_worker, ticks = run_world(tmp_path, {"worker": None})
    assert by_worker == {"worker": {"r4", "r1"}}
    assert_serial(ticks)
