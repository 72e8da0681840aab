"""Beat faults on real processes: a second beat stands by, and an outage leaves no burst.

Each test runs real celery beat (agents.beat.AlignedScheduler) and worker processes on a fresh
database and a private redis-server of its own, ticking a small world every second.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.support.databases import fresh_database, process_env
from tests.support.redis_server import private_redis

from .processes import manage, running, wait_for
from .test_daemon import WORLD, as_json, query

SENT_DISPATCH = "Sending due task simulation tick"
SENT_FOLLOW = "Sending due task verification follow"
LOCK_TTL = 3


def completed(url: str) -> list[int]:
    sql = "SELECT data FROM events_event WHERE stream_id = %s AND type = %s ORDER BY position"
    return [as_json(data)["tick"] for (data,) in query(url, sql, (WORLD, "world.tick.completed"))]


def skipped(url: str) -> list[tuple[int, int]]:
    sql = "SELECT data FROM events_event WHERE stream_id = %s AND type = %s ORDER BY position"
    return [(as_json(d)["fromTick"], as_json(d)["toTick"]) for (d,) in query(url, sql, (WORLD, "world.ticks.skipped"))]


def lines(log: Path, *texts: str) -> int:
    """Count the log's lines that contain every one of `texts`."""
    return sum(all(t in line for t in texts) for line in log.read_text(errors="replace").splitlines())


@pytest.fixture
def daemon(tmp_path: Path):
    """Yield (database url, Processes) for a 4-agent world ticking every second."""
    with fresh_database(tmp_path) as url, private_redis(tmp_path) as server:
        env = process_env(url, REDIS_URL=server.url, SELFPLAY_SIM_TICK_SECONDS="1",
                          SELFPLAY_PLAN_TICK_SECONDS="30", SELFPLAY_VISIBILITY_TIMEOUT="5",
                          SELFPLAY_BEAT_LOCK_TTL_SECONDS=str(LOCK_TTL))
        env.pop("CELERY_BROKER_URL", None)
        manage("selfplay_demo", "--agents", "4", env=env)
        manage("setup_periodic_tasks", env=env)
        with running(env, tmp_path) as processes:
            yield url, processes


def assert_each_tick_once(url: str) -> None:
    ticks = completed(url)
    assert [t for t, n in Counter(ticks).items() if n > 1] == []
    covered = sorted(ticks + [t for a, b in skipped(url) for t in range(a, b + 1)])
    assert covered == list(range(1, max(covered) + 1))


@pytest.mark.e2e
@pytest.mark.django_db
def test_a_second_beat_stands_by_and_takes_over_when_the_first_dies(daemon):
    url, processes = daemon
    processes.celery_worker("worker")
    first = processes.celery_beat("beat-1")
    wait_for(lambda: len(completed(url)) >= 2, timeout=60, message="the first ticks")

    second = processes.celery_beat("beat-2")
    wait_for(lambda: lines(second.log, "standing by") == 1, timeout=30, message="beat-2 standing by")
    sent_by_first = lines(first.log, SENT_DISPATCH)
    wait_for(lambda: lines(first.log, SENT_DISPATCH) >= sent_by_first + 4, timeout=30,
             message="four more dispatches from beat-1")
    # While beat-1 holds the lock, beat-2 sends nothing at all.
    assert (lines(second.log, SENT_DISPATCH), lines(second.log, SENT_FOLLOW)) == (0, 0)

    first.kill()  # SIGKILL: the lock is not released, its lease lapses after LOCK_TTL seconds
    ticks_at_kill = len(completed(url))
    wait_for(lambda: lines(second.log, "holds the beat lock") == 1, timeout=LOCK_TTL + 10,
             message="beat-2 taking the lock over")
    wait_for(lambda: lines(second.log, SENT_DISPATCH) >= 3, timeout=30, message="beat-2 dispatching")
    wait_for(lambda: len(completed(url)) >= ticks_at_kill + 3, timeout=30, message="ticks after the takeover")
    processes.assert_healthy()
    assert_each_tick_once(url)


@pytest.mark.e2e
@pytest.mark.django_db
def test_periodic_tasks_sent_while_no_worker_runs_expire_instead_of_bursting(daemon):
    url, processes = daemon
    beat = processes.celery_beat("beat")
    wait_for(lambda: lines(beat.log, SENT_DISPATCH) >= 5, timeout=60, message="5 dispatches with no worker")
    worker = processes.celery_worker("worker")
    sent_before_worker = lines(beat.log, SENT_DISPATCH), lines(beat.log, SENT_FOLLOW)
    wait_for(lambda: len(completed(url)) >= 3, timeout=60, message="ticks once the worker runs")
    wait_for(lambda: lines(beat.log, SENT_DISPATCH) >= sent_before_worker[0] + 3, timeout=30,
             message="three more dispatches")
    processes.assert_healthy()

    log = worker.log
    discarded = (lines(log, "Discarding revoked task: agents.dispatch_simulation_ticks["),
                 lines(log, "Discarding revoked task: verification.follow["))
    # Every dispatch and follow sent before the worker started had expired when it got them
    # (the worker takes longer than a second to start), so none of them ran.
    assert discarded[0] >= sent_before_worker[0] and discarded[1] >= sent_before_worker[1], \
        (discarded, sent_before_worker)
    ran = lines(log, "Task agents.dispatch_simulation_ticks[", "succeeded")
    assert 0 < ran <= lines(beat.log, SENT_DISPATCH) - sent_before_worker[0]
    # The ticks missed meanwhile were caught up once, by the first fresh tick task.
    assert_each_tick_once(url)
    assert skipped(url) == []
