"""A slow planner off the hot path: real beat, a simulation worker and a planner worker.

A 4-agent world ticks every second on a fresh database (SQLite in the default run) and a private
redis-server. First the agents plan with the built-in brains (quick); then three of them are
given a brain whose plan() takes 5 s, as one asking a language model would, so the planner
worker is busy nearly all the time. Lateness is compared between the two phases of the same
run as counts of late ticks (a tick due in the phase that completed more than 1 s after its due
moment, or never), not as the timing of any one tick.

It holds because plan() runs with no transaction open (the SQLite write lock stays free) and
planning ticks have a queue of their own ("planning"), which the simulation worker does not
serve.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.databases import fresh_database, process_env
from tests.support.redis_server import private_redis

from .processes import manage, running, wait_for
from .test_daemon import WORLD, as_datetime, as_json, query

SLOW_AGENTS = ("ada", "alan", "barbara")  # the demo's first agents; "claude" keeps its brain
LATE_SECONDS = 1.0
PHASE_SECONDS = 24  # more than one whole planning run of the three slow agents (15 s)
PLANNED = "Task agents.planning_tick["


def region_clock(url: str) -> tuple[float, int]:
    epoch, seconds = query(url, "SELECT epoch, tick_seconds FROM agents_region WHERE id = %s", ("meadow",))[0]
    return as_datetime(epoch).timestamp(), seconds


def completed(url: str) -> dict[int, float]:
    """Return {tick: recorded Unix time} of the world's completed ticks."""
    sql = "SELECT data, recorded_at FROM events_event WHERE stream_id = %s AND type = %s"
    return {as_json(data)["tick"]: as_datetime(at).timestamp()
            for data, at in query(url, sql, (WORLD, "world.tick.completed"))}


def late_ticks(url: str, since: float, until: float) -> tuple[int, int]:
    """Return (late ticks, ticks) among those due in [since, until)."""
    epoch, seconds = region_clock(url)
    done = completed(url)
    first, last = int((since - epoch) // seconds) + 1, int((until - epoch) // seconds)
    due = {tick: epoch + tick * seconds for tick in range(first, last + 1) if since <= epoch + tick * seconds < until}
    late = sum(1 for tick, at in due.items() if tick not in done or done[tick] - at > LATE_SECONDS)
    return late, len(due)


def slow_plans(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def recorded_slow_plans(url: str) -> int:
    sql = "SELECT data FROM events_event WHERE type = %s"
    return sum(1 for (data,) in query(url, sql, ("agent.plan.updated",)) if as_json(data)["plan"].get("slow"))


@pytest.mark.e2e
@pytest.mark.django_db
def test_a_planner_taking_5_s_a_call_does_not_make_ticks_late(tmp_path: Path):
    plan_log = tmp_path / "slow-plans.jsonl"
    with fresh_database(tmp_path) as url, private_redis(tmp_path) as server:
        env = process_env(url, REDIS_URL=server.url, DJANGO_SETTINGS_MODULE="tests.e2e.slow_settings",
                          SELFPLAY_SIM_TICK_SECONDS="1", SELFPLAY_PLAN_TICK_SECONDS="2",
                          SELFPLAY_TEST_SLOW_PLAN_LOG=str(plan_log))
        env.pop("CELERY_BROKER_URL", None)
        env.pop("SELFPLAY_TEST_TICK_PAUSE_SECONDS", None)
        # The demo spreads its agents over the project's brains (not the test's slow one).
        manage("selfplay_demo", "--agents", "4", "--starts-in", "5",
               env={**env, "DJANGO_SETTINGS_MODULE": "selfplay.settings"})
        manage("setup_periodic_tasks", env=env)
        with running(env, tmp_path) as processes:
            # One simulation process: anything else it ran would hold the ticks up.
            simulation = processes.celery_worker("worker", concurrency=1, queues="celery")
            planner = processes.celery_worker("planner", concurrency=1, queues="planning")
            processes.celery_beat()
            epoch, seconds = region_clock(url)

            def on_time() -> bool:
                processes.assert_healthy()
                done = completed(url)
                return len(done) >= 3 and max(done) >= int((time.time() - epoch) // seconds) - 1

            wait_for(on_time, timeout=90, message="the world ticking on time")
            wait_for(lambda: planner.log.read_text(errors="replace").count(PLANNED) >= 2, timeout=30,
                     message="two planning ticks with the built-in brains")

            base_start = time.time()
            time.sleep(PHASE_SECONDS)
            base_end = time.time()

            brains = ", ".join(repr(a) for a in SLOW_AGENTS)
            manage("shell", "-c", "from agents.services import configure_agent\n"
                   f"for a in ({brains},): configure_agent(agent_id=a, actor='operator:test', brain='slow')",
                   env=env)
            def first_slow_plan() -> bool:
                processes.assert_healthy()
                return plan_log.exists()

            wait_for(first_slow_plan, timeout=30, message="the first 5 s plan() call ending")
            slow_start = min(p["started"] for p in slow_plans(plan_log))
            time.sleep(max(0.0, slow_start + PHASE_SECONDS - time.time()))
            slow_end = slow_start + PHASE_SECONDS
            wait_for(lambda: recorded_slow_plans(url) >= len(SLOW_AGENTS), timeout=30,
                     message="the slow plans recorded")
            time.sleep(LATE_SECONDS + 1)  # every tick due in the phase has had its chance
            processes.assert_healthy()

            base_late, base_ticks = late_ticks(url, base_start, base_end)
            slow_late, slow_ticks = late_ticks(url, slow_start, slow_end)
            print(f"late ticks: {base_late}/{base_ticks} with quick planners, "
                  f"{slow_late}/{slow_ticks} with the 5 s planner")

            calls = slow_plans(plan_log)
            busy = sum(min(c["ended"], slow_end) - max(c["started"], slow_start) for c in calls
                       if c["started"] < slow_end and c["ended"] > slow_start)
            # The slow planner was really at work through the phase, with no transaction open.
            assert busy >= PHASE_SECONDS * 0.75, (busy, calls)
            assert {c["inAtomicBlock"] for c in calls} == {False}
            assert {c["agent"] for c in calls} == set(SLOW_AGENTS)
            # Planning ran on the planner only: the simulation worker never took a planning tick.
            assert simulation.log.read_text(errors="replace").count(PLANNED) == 0
            assert base_ticks >= PHASE_SECONDS - 1 and slow_ticks >= PHASE_SECONDS - 1
            assert slow_late <= base_late + 1, (base_late, slow_late)
