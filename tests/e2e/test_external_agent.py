"""The example external agent (examples/external_agent.py) plays an agent against the real daemon.

daphne, a simulation worker, a planner and beat run on a fresh database and a private
redis-server; a 4-agent world ticks every second. The example runs as a subprocess with the
agent's key (issued by `manage.py selfplay_agent_key`), reads the world over WS /stream and
submits one decision per tick with POST /command; mid-run daphne is stopped and started again,
and the example must reconnect by itself. Each decision it reports must then be in the agent's
stream as `agent.action.submitted`, source external, actor agent:<id>, at the tick it was
promised for.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.databases import REPO, fresh_database, process_env
from tests.support.ports import free_port
from tests.support.redis_server import private_redis

from .processes import BIN, manage, running, wait_for
from .test_daemon import WORLD, as_json, query

AGENT = "ada"
DECISIONS = 8
EXAMPLE = REPO / "examples" / "external_agent.py"


def decisions_printed(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def last_tick(url: str) -> int:
    rows = query(url, "SELECT data FROM events_event WHERE stream_id = %s AND type = %s ORDER BY position DESC "
                      "LIMIT 1", (WORLD, "world.tick.completed"))
    return as_json(rows[0][0])["tick"] if rows else 0


def submitted(url: str, agent_id: str) -> list[tuple[dict, dict]]:
    """Return (data, metadata) of the agent's `agent.action.submitted` events, in stream order."""
    sql = "SELECT data, metadata FROM events_event WHERE stream_id = %s AND type = %s ORDER BY position"
    return [(as_json(d), as_json(m)) for d, m in query(url, sql, (f"agent:{agent_id}", "agent.action.submitted"))]


@pytest.mark.e2e
@pytest.mark.django_db
def test_the_example_external_agent_plays_through_the_public_api_and_rides_out_a_server_restart(tmp_path):
    out, err = tmp_path / "agent.out", tmp_path / "agent.err"
    with fresh_database(tmp_path) as url, private_redis(tmp_path) as server:
        env = process_env(url, REDIS_URL=server.url, SELFPLAY_SIM_TICK_SECONDS="1",
                          SELFPLAY_PLAN_TICK_SECONDS="30",
                          # A decision a second is twice the default per-minute budget.
                          SELFPLAY_COMMAND_RATE_LIMIT="1000")
        env.pop("CELERY_BROKER_URL", None)
        env.pop("SELFPLAY_TEST_TICK_PAUSE_SECONDS", None)
        manage("selfplay_demo", "--agents", "4", "--starts-in", "3", env=env)
        manage("setup_periodic_tasks", env=env)
        key = manage("selfplay_agent_key", AGENT, env=env).stdout.split()[-1]
        assert key.startswith("spk_")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        daphne_argv = [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "selfplay.asgi:application"]
        with running(env, tmp_path) as processes:
            daphne = processes.start("daphne", daphne_argv)
            processes.celery_worker("worker", concurrency=2)
            processes.celery_worker("planner", queues="planning")
            processes.celery_beat()
            wait_for(lambda: last_tick(url) >= 2, timeout=90, message="the world ticking")

            # The example gets only what a stranger's machine would have: the URL and its key.
            agent_env = {"PATH": env.get("PATH", ""), "SELFPLAY_AGENT_KEY": key}
            with open(out, "w") as stdout, open(err, "w") as stderr:
                example = subprocess.Popen(
                    [sys.executable, str(EXAMPLE), "--url", base, "--agent", AGENT, "--ticks", str(DECISIONS),
                     "--seed", "7"], env=agent_env, stdout=stdout, stderr=stderr, cwd=tmp_path,
                    start_new_session=True)
            try:
                wait_for(lambda: len(decisions_printed(out)) >= 3 or example.poll() is not None, timeout=60,
                         message=lambda: f"three decisions\n{err.read_text()}")
                daphne.stop()  # the server goes away under the example's socket and requests
                time.sleep(2)
                restarted_at = len(decisions_printed(out))
                processes.start("daphne-2", daphne_argv)
                assert example.wait(timeout=90) == 0, err.read_text()
            finally:
                if example.poll() is None:
                    example.kill()
                    example.wait(timeout=10)
            processes.assert_healthy()

            printed = decisions_printed(out)
            assert len(printed) == DECISIONS, err.read_text()
            assert len(printed) > restarted_at  # it carried on after the restart...
            assert "reconnecting" in err.read_text()  # ...by reconnecting on its own
            # Every decision lands at the tick it was promised for.
            wait_for(lambda: last_tick(url) >= max(p["appliesAtTick"] for p in printed), timeout=30,
                     message="the promised ticks")

        by_command = {meta.get("causationId"): (data, meta) for data, meta in submitted(url, AGENT)
                      if data["source"] == "external"}
        for decision in printed:
            data, meta = by_command[decision["eventId"]]
            assert (data["tick"], data["action"], data["source"]) == (
                decision["appliesAtTick"], decision["action"], "external")
            assert meta["actor"] == f"agent:{AGENT}"
            assert meta["tick"] == decision["appliesAtTick"]
        assert len(by_command) == DECISIONS
        ticks = [p["appliesAtTick"] for p in printed]
        assert ticks == sorted(set(ticks))  # one decision per tick, in order
