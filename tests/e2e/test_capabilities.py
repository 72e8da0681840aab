"""Capabilities under a real daemon: the capability worker is SIGKILLed mid-effect.

Beat and a tick worker run the demo world with three scribes (the demo brain that journals
through hash, store and notify); a second worker serves the "capabilities" queue with the
test-only pause between a notify's effect (the notification is made) and the recording of its
result. While it holds a notify there, its whole process group is SIGKILLed. A new capability
worker gets the redelivered task (acks_late, visibility timeout; the beat sweep, which would
also send it again, is put off for the test) and performs the request again.

Afterwards: the killed notify made exactly one notification and has exactly one result, every
request has exactly one result, and replay verifies.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.support.databases import fresh_database, process_env

from .processes import Processes, dedicated_redis, manage, running, wait_for
from .test_daemon import as_json, query

REGION = "meadow"
SCRIBES = 3
MARKER = "TEST-ONLY capability performed, result not recorded: notify request "


def capability_worker(processes: Processes, name: str, env: dict[str, str] | None = None):
    return processes.celery_worker(name, env=env, queues="capabilities")


def held_notify(log: Path) -> str | None:
    """Return the request id of the notify the worker's log says is held before its result."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if MARKER in line]
    return lines[0].split(MARKER, 1)[1].split()[0] if lines else None


def results_of(url: str) -> list[tuple[str, dict]]:
    return [(kind, as_json(data)) for kind, data in query(
        url, "SELECT type, data FROM events_event WHERE type IN (%s, %s) ORDER BY global_position",
        ("capability.completed", "capability.failed"))]


def requests_of(url: str) -> list[dict]:
    return [as_json(data) for (data,) in query(
        url, "SELECT data FROM events_event WHERE type = %s ORDER BY global_position", ("capability.requested",))]


def notifications(url: str) -> list[str]:
    return [row[0] for row in query(url, "SELECT request_id FROM agents_notification ORDER BY id")]


@pytest.mark.e2e
@pytest.mark.django_db
def test_a_capability_worker_killed_mid_effect_leaves_one_effect_and_one_result(tmp_path: Path):
    with fresh_database(tmp_path) as url, dedicated_redis() as redis_url:
        env = process_env(url, REDIS_URL=redis_url, SELFPLAY_SIM_TICK_SECONDS="1",
                          SELFPLAY_PLAN_TICK_SECONDS="30", SELFPLAY_VISIBILITY_TIMEOUT="5",
                          # The sweep would send the request again too: this test is of redelivery.
                          SELFPLAY_CAPABILITY_SWEEP_SECONDS="3600")
        env.pop("CELERY_BROKER_URL", None)
        manage("selfplay_demo", "--agents", "2", "--scribes", str(SCRIBES), env=env)
        manage("setup_periodic_tasks", env=env)
        with running(env, tmp_path) as processes:
            ticks = processes.celery_worker("ticks")
            beat = processes.celery_beat()
            first = capability_worker(processes, "capabilities-1", env={
                "SELFPLAY_TEST_CAPABILITY_PAUSE_SECONDS": "30", "SELFPLAY_TEST_CAPABILITY_PAUSE_ONLY": "notify"})
            held = wait_for(lambda: held_notify(first.log), timeout=90, interval=0.1,
                            message="the capability worker holding a notify between effect and result")
            # The effect is made and committed; its result is not recorded yet.
            assert notifications(url).count(held) == 1
            assert [d for _, d in results_of(url) if d["requestId"] == held] == []
            first.kill()

            capability_worker(processes, "capabilities-2")
            wait_for(lambda: [d for _, d in results_of(url) if d["requestId"] == held], timeout=60,
                     message=f"the killed request {held} recorded by the new worker")
            processes.assert_healthy()
            # No more ticks, so no more requests: every request recorded gets its result, none two.
            beat.stop()
            ticks.stop()
            asked = {d["requestId"] for d in requests_of(url)}
            wait_for(lambda: asked <= {d["requestId"] for _, d in results_of(url)}, timeout=60,
                     message="a result for every request")

        results = results_of(url)
        per_request = Counter(d["requestId"] for _, d in results)
        assert [rid for rid, n in per_request.items() if n > 1] == []
        assert {d["requestId"] for d in requests_of(url)} <= set(per_request)
        [(kind, data)] = [(k, d) for k, d in results if d["requestId"] == held]
        assert (kind, data["capability"], data["agentId"].startswith("scribe-")) == (
            "capability.completed", "notify", True)
        assert notifications(url).count(held) == 1
        # One notification per completed notify, and none without its result.
        notified = sorted(d["requestId"] for k, d in results if k == "capability.completed" and d["capability"] == "notify")
        assert sorted(notifications(url)) == notified
        replay = manage("verify_replay", "--no-progress", env=env, timeout=300)
        assert "ticks re-evaluated" in replay.stdout, replay.stdout
