"""The living daemon: real Celery beat and worker tick a world nobody watches, survive a SIGKILL.

Beat (agents.beat.AlignedScheduler) drives `agents.dispatch_simulation_ticks` every second on a
fresh database and a Redis database of its own; a prefork worker runs the ticks. Mid-run the
worker's whole process group is SIGKILLed (no warm shutdown) while a tick's transaction is open
(the test-only in-tick pause holds it open and says so in the log); three seconds later a new
worker starts and must redo that tick and catch up the ticks missed meanwhile.

Afterwards the log must show each tick exactly once, numbered 1..N without a gap, none recorded
before it was due, the missed ones caught up by the new worker, one decision per agent per tick,
gapless stream positions, and intact chains, replay and projections.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from events.compact import unpack_json
from tests.support.databases import REPO, fresh_database, process_env

from .processes import Process, Processes, dedicated_redis, manage, running, wait_for

REGION = "meadow"
WORLD = f"world:{REGION}"
AGENTS = 12
TICK_SECONDS = 1
DOWNTIME_SECONDS = 3
TICKS_BEFORE_KILL = 5
TICKS_AFTER_RESTART = 5
WAIT_SECONDS = 60


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Run one read on the fresh database (not the pytest database Django is connected to)."""
    if url.startswith("sqlite"):
        db = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        try:
            return db.execute(sql.replace("%s", "?"), params).fetchall()
        finally:
            db.close()
    with psycopg.connect(url) as db:
        return db.execute(sql, params).fetchall()


def as_json(value) -> dict:
    """JSON columns are compact bytes on SQLite (events.compact) and decoded jsonb on PostgreSQL."""
    return json.loads(unpack_json(value)) if isinstance(value, str | bytes) else value


def as_datetime(value) -> datetime:
    """Datetimes are naive UTC text on SQLite and aware datetimes on PostgreSQL."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def completed_ticks(url: str) -> int:
    sql = "SELECT COUNT(*) FROM events_event WHERE stream_id = %s AND type = %s"
    return query(url, sql, (WORLD, "world.tick.completed"))[0][0]


TICK_PAUSE = {"SELFPLAY_TEST_TICK_PAUSE_SECONDS": "0.5"}  # test-only: holds each tick open
OPEN_TICK_MARKER = f"TEST-ONLY tick transaction open: region {REGION} tick "


def open_tick(log: Path) -> int | None:
    """Return the tick whose transaction the worker's log last said is open, if any."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if OPEN_TICK_MARKER in line]
    return int(lines[-1].split(OPEN_TICK_MARKER, 1)[1].split()[0]) if lines else None


def kill_mid_tick(worker: Process, *, after_tick: int, timeout: float) -> int:
    """SIGKILL the worker's group while a tick later than `after_tick` holds its transaction open.

    The worker runs with the test-only in-tick pause, which logs a marker once a tick's events
    are appended and keeps the transaction open half a second; return the tick killed.
    """
    tick = wait_for(lambda: (t := open_tick(worker.log)) is not None and t > after_tick and t,
                    timeout=timeout, interval=0.01, message="a tick transaction open in the worker")
    worker.kill()
    return tick


@dataclass(frozen=True)
class Run:
    ticks_at_kill: int
    killed_tick: int
    restarted_at: datetime


@dataclass(frozen=True)
class Log:
    events: list[tuple]  # (stream, position, type, data, metadata, recorded_at) by global position
    heads: dict[str, int]
    epoch: datetime
    tick_seconds: int
    agent_ids: list[str]


def run_daemon(url: str, processes: Processes) -> Run:
    """Tick unattended, SIGKILL the worker, leave it dead a while, start another; let it catch up."""

    def ticks_once_healthy() -> int:
        processes.assert_healthy()  # a failing task or a dead process fails now, not at timeout
        return completed_ticks(url)

    first_worker = processes.celery_worker("worker-1", env=TICK_PAUSE)
    beat = processes.celery_beat()
    wait_for(lambda: ticks_once_healthy() >= TICKS_BEFORE_KILL, timeout=WAIT_SECONDS,
             message=lambda: f"{TICKS_BEFORE_KILL} ticks (have {completed_ticks(url)})")

    killed_tick = kill_mid_tick(first_worker, after_tick=TICKS_BEFORE_KILL, timeout=10)
    ticks_at_kill = completed_ticks(url)
    # The killed tick's transaction was open: none of it was committed, its predecessor was.
    assert ticks_at_kill == killed_tick - 1, (ticks_at_kill, killed_tick)
    time.sleep(DOWNTIME_SECONDS)
    restarted_at = datetime.now(UTC)
    assert completed_ticks(url) == ticks_at_kill, "a tick was recorded while no worker ran"
    second_worker = processes.celery_worker("worker-2")
    target = ticks_at_kill + TICKS_AFTER_RESTART
    wait_for(lambda: ticks_once_healthy() >= target, timeout=WAIT_SECONDS,
             message=lambda: f"{target} ticks after the restart (have {completed_ticks(url)})")
    # SIGTERM: beat stops sending, the worker finishes its task (warm shutdown); both exit 0.
    assert {p.name: p.stop() for p in (beat, second_worker)} == {"beat": 0, "worker-2": 0}
    processes.assert_healthy()
    print(f"worker killed inside tick {killed_tick}'s transaction; ticks at kill: {ticks_at_kill}")
    return Run(ticks_at_kill, killed_tick, restarted_at)


def read_log(url: str) -> Log:
    events = [
        (stream, position, kind, as_json(data), as_json(metadata), as_datetime(recorded_at))
        for stream, position, kind, data, metadata, recorded_at in query(
            url, "SELECT stream_id, position, type, data, metadata, recorded_at "
                 "FROM events_event ORDER BY global_position")
    ]
    heads = dict(query(url, "SELECT id, version FROM events_stream"))
    ((epoch, tick_seconds),) = query(
        url, "SELECT epoch, tick_seconds FROM agents_region WHERE id = %s", (REGION,))
    agent_ids = sorted(row[0] for row in query(url, "SELECT id FROM agents_agent"))
    return Log(events, heads, as_datetime(epoch), int(tick_seconds), agent_ids)


@pytest.mark.e2e
@pytest.mark.django_db
def test_daemon_ticks_unattended_and_recovers_from_a_killed_worker(tmp_path: Path):
    with fresh_database(tmp_path) as url, dedicated_redis() as redis_url:
        env = process_env(url, REDIS_URL=redis_url, SELFPLAY_SIM_TICK_SECONDS=str(TICK_SECONDS),
                          SELFPLAY_PLAN_TICK_SECONDS="5", SELFPLAY_VISIBILITY_TIMEOUT="5")
        env.pop("CELERY_BROKER_URL", None)  # the broker must be the dedicated database
        manage("selfplay_demo", "--agents", str(AGENTS), env=env)
        manage("setup_periodic_tasks", env=env)
        # Every check runs inside `running` so that a failure prints the processes' logs.
        with running(env, tmp_path) as processes:
            run = run_daemon(url, processes)
            log = read_log(url)
            check_ticks(log, run)
            check_streams(log)
            check_operator_commands(log, env)


def check_ticks(log: Log, run: Run) -> None:
    """Each tick exactly once, 1..N, never early; the ticks missed while down were caught up."""
    world = [e for e in log.events if e[0] == WORLD]
    completed = [e for e in world if e[2] == "world.tick.completed"]
    ticks = [data["tick"] for _, _, _, data, _, _ in completed]
    last = ticks[-1]
    assert last >= run.ticks_at_kill + TICKS_AFTER_RESTART
    assert sorted(t for t, n in Counter(ticks).items() if n > 1) == [], "a tick was done twice"
    # The downtime is far below SELFPLAY_MAX_CATCHUP_TICKS (30): every missed tick is simulated.
    assert [e[3] for e in world if e[2] == "world.ticks.skipped"] == []
    assert ticks == list(range(1, last + 1))
    assert all(meta["tick"] == data["tick"] and data["agents"] == AGENTS
               for _, _, _, data, meta, _ in completed)

    # Ticks are numbered from the schedule: tick t is due at epoch + t × tick seconds.
    assert log.tick_seconds == TICK_SECONDS
    due = {t: log.epoch + timedelta(seconds=t * log.tick_seconds) for t in ticks}
    recorded = {data["tick"]: at for _, _, _, data, _, at in completed}
    assert [(t, recorded[t], due[t]) for t in ticks if recorded[t] < due[t]] == [], "ran early"

    # The ticks that fell due while no worker ran were recorded by the new worker, after the
    # restart: the first tick after the kill and at least the next one.
    caught_up = [t for t in ticks if t > run.ticks_at_kill and due[t] < run.restarted_at]
    assert caught_up[:1] == [run.ticks_at_kill + 1], (run, caught_up)
    assert len(caught_up) >= DOWNTIME_SECONDS - 1, (run, caught_up)
    assert [t for t in caught_up if recorded[t] < run.restarted_at] == []
    # The tick killed mid-transaction was redone once, by the new worker.
    assert ticks.count(run.killed_tick) == 1 and recorded[run.killed_tick] > run.restarted_at


def check_streams(log: Log) -> None:
    """Positions are gapless per stream; one brain decision per agent per tick."""
    positions = defaultdict(list)
    for stream, position, *_ in log.events:
        positions[stream].append(position)
    assert set(log.heads) == set(positions)
    for stream, found in positions.items():
        assert found == list(range(1, len(found) + 1)), f"gap or duplicate in {stream}"
        assert log.heads[stream] == len(found), f"head of {stream}"

    last = max(data["tick"] for stream, _, kind, data, _, _ in log.events
               if stream == WORLD and kind == "world.tick.completed")
    assert len(log.agent_ids) == AGENTS
    assert sorted(s for s in positions if s.startswith("agent:")) == [f"agent:{a}" for a in log.agent_ids]
    for agent_id in log.agent_ids:  # all active throughout: nobody paused them
        submitted = [(data, meta) for stream, _, kind, data, meta, _ in log.events
                     if stream == f"agent:{agent_id}" and kind == "agent.action.submitted"]
        decided = [data["tick"] for data, _ in submitted]
        twice = sorted(t for t, n in Counter(decided).items() if n > 1)
        assert twice == [], f"agent {agent_id} decided twice in ticks {twice}"
        assert decided == list(range(1, last + 1)), f"agent {agent_id}"
        assert {data["source"] for data, _ in submitted} == {"brain"}
        assert all(meta["tick"] == data["tick"] and meta["actor"] == f"agent:{agent_id}"
                   for data, meta in submitted)


def check_operator_commands(log: Log, env: dict[str, str]) -> None:
    """The operator's status agrees with the log; chains, replay and projections verify."""
    events, streams = len(log.events), len(log.heads)
    last = max(data["tick"] for stream, _, kind, data, _, _ in log.events
               if stream == WORLD and kind == "world.tick.completed")
    # The daemon was stopped a moment ago: as its schedule runs on, the status calls the region
    # stalled and exits 1 saying so (nothing else may be wrong).
    result = subprocess.run([sys.executable, str(REPO / "manage.py"), "selfplay_status", "--json"], env=env,
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    status = json.loads(result.stdout)
    assert [(r["region"], r["lastTick"], r["agents"], r["activeAgents"]) for r in status["regions"]] \
        == [(REGION, last, AGENTS, AGENTS)]
    assert (status["events"], status["streams"]) == (events, streams)
    assert all(w.startswith(f"Region {REGION} is stalled") for w in status["warnings"]), status["warnings"]
    assert result.returncode == (1 if status["warnings"] else 0)

    chain = manage("verify_chain", "--no-progress", env=env, timeout=300)
    assert f"ok: {streams} streams, {events} events, every chain intact" in chain.stdout
    replay = manage("verify_replay", "--no-progress", env=env, timeout=300)
    assert f"{last} ticks re-evaluated" in replay.stdout, replay.stdout
    projections = manage("rebuild_projections", "--verify", "--no-progress", env=env, timeout=300)
    assert projections.stdout.startswith("ok: "), projections.stdout
