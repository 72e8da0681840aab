"""Regions across workers: ticks routed by region shard, and one region's ticks strictly serial."""

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import psycopg
import pytest

from agents import routing, tasks
from events.compact import unpack_json
from tests.support.databases import REPO, fresh_database, process_env

from .worlds import make_region

TICKER = REPO / "tests" / "support" / "ticker.py"


def test_a_region_keeps_its_shard_whatever_the_process():
    # crc32, not Python's salted hash(): every dispatcher and every restart agree.
    assert [routing.tick_shard(r, 4) for r in ("alpha", "beta", "r1", "r5")] == [2, 3, 1, 0]
    assert [routing.tick_shard(f"r{n}", 2) for n in range(8)] == [1, 1, 1, 1, 0, 0, 0, 0]


def test_queues_follow_the_settings(settings):
    settings.SELFPLAY_TICK_SHARDS = 0
    settings.SELFPLAY_PLANNING_QUEUE = ""
    assert (routing.tick_queue("alpha"), routing.planning_queue()) == ("celery", "celery")
    assert routing.task_queues() == ["celery", "capabilities"]
    settings.SELFPLAY_TICK_SHARDS = 3
    settings.SELFPLAY_PLANNING_QUEUE = "planning"
    assert routing.tick_queue("alpha") == f"ticks.{routing.tick_shard('alpha', 3)}"
    assert routing.task_queues() == ["celery", "ticks.0", "ticks.1", "ticks.2", "planning", "capabilities"]


@pytest.mark.django_db
def test_dispatch_sends_each_region_to_the_queue_of_its_shard(settings, monkeypatch):
    settings.SELFPLAY_TICK_SHARDS = 4
    settings.SELFPLAY_PLANNING_QUEUE = "planning"
    grid = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    for region_id in ("alpha", "beta", "r1", "r5"):
        make_region(region_id, epoch=grid, agents={f"{region_id}-a": "builder"})
    sent, planned = [], []
    monkeypatch.setattr(tasks.simulation_tick, "apply_async", lambda args, **options: sent.append((args[0], options)))
    monkeypatch.setattr(tasks.planning_tick, "apply_async", lambda args, **options: planned.append((args[0], options)))
    monkeypatch.setattr(tasks, "timezone", SimpleNamespace(now=lambda: grid + timedelta(milliseconds=4)))

    assert tasks.dispatch_simulation_ticks() == 4
    assert tasks.dispatch_planning_ticks() == 4

    assert [(region, options["queue"]) for region, options in sent] == [
        ("alpha", "ticks.2"), ("beta", "ticks.3"), ("r1", "ticks.1"), ("r5", "ticks.0")]
    assert {options["queue"] for _, options in planned} == {"planning"}


def start_workers(env: dict, jobs: list[list[str]]) -> list[subprocess.Popen]:
    """Start tick workers (tests/support/ticker.py), wait until each is READY, then let all go."""
    workers = [subprocess.Popen([sys.executable, str(TICKER), "tick", *job], env=env, cwd=REPO, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for job in jobs]
    for worker in workers:
        assert worker.stdout.readline().strip() == "READY", worker.stderr.read()
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    return workers


def finish(workers: list[subprocess.Popen]) -> list[dict]:
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
        reports.append(json.loads(out.splitlines()[-1]))
    return reports


def completed_ticks(url: str, stream_id: str) -> list[int]:
    sql = ("SELECT data FROM events_event WHERE stream_id = %s AND type = 'world.tick.completed' "
           "ORDER BY position")
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            return [json.loads(unpack_json(d))["tick"] for (d,) in db.execute(sql.replace("%s", "?"), [stream_id])]
    with psycopg.connect(url) as db:
        return [d["tick"] for (d,) in db.execute(sql, [stream_id])]


@pytest.mark.django_db
def test_workers_racing_on_one_region_never_interleave_its_ticks(tmp_path):
    """Three worker processes tick the same region for the same eight due moments (a redelivered
    or duplicated task does exactly that): each tick is recorded once, in order, chains intact."""
    with fresh_database(tmp_path) as url:
        env = process_env(url, SELFPLAY_PUBLISH_EVENTS="0")
        subprocess.run([sys.executable, str(TICKER), "setup", "vale", "40"], env=env, cwd=REPO, check=True)
        reports = finish(start_workers(env, [["vale", "1", "8"]] * 3))
        ticks = completed_ticks(url, "world:vale")
        verify = subprocess.run([sys.executable, "manage.py", "verify_chain", "--no-progress"],
                                env=env, cwd=REPO, capture_output=True, text=True)

    assert sorted(t for report in reports for t in report["ticks"]["vale"]) == list(range(1, 9))
    assert ticks == list(range(1, 9))
    assert verify.returncode == 0, verify.stderr


@pytest.mark.django_db
def test_workers_on_different_regions_each_tick_their_own(tmp_path):
    with fresh_database(tmp_path) as url:
        env = process_env(url, SELFPLAY_PUBLISH_EVENTS="0")
        subprocess.run([sys.executable, str(TICKER), "setup", "r0,r1,r4,r5", "20"], env=env, cwd=REPO, check=True)
        by_shard = [",".join(r for r in ("r0", "r1", "r4", "r5") if routing.tick_shard(r, 2) == shard)
                    for shard in (0, 1)]
        reports = finish(start_workers(env, [[regions, "1", "5"] for regions in by_shard]))
        ticks = {r: completed_ticks(url, f"world:{r}") for r in ("r0", "r1", "r4", "r5")}

    assert by_shard == ["r4,r5", "r0,r1"]
    assert [report["ticks"] for report in reports] == [
        {"r4": [1, 2, 3, 4, 5], "r5": [1, 2, 3, 4, 5]}, {"r0": [1, 2, 3, 4, 5], "r1": [1, 2, 3, 4, 5]}]
    assert [report["lostRaces"] for report in reports] == [0, 0]
    assert ticks == {r: [1, 2, 3, 4, 5] for r in ("r0", "r1", "r4", "r5")}
