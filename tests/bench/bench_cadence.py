"""Tick lateness with real beat and worker processes, against an asyncio `call_at` loop.

Ours: `make run`'s processes (a prefork worker of concurrency 2, beat with agents.beat's
AlignedScheduler) tick the 60-agent demo world every 2 s on a fresh SQLite database and a private
Redis; lateness is each `world.tick.completed`'s recorded time minus its due moment
(`epoch + n × interval`). Baseline, in the same run: an asyncio loop in its own process that
wakes with `call_at` at the same due moments. Also reported: the cadence flags the verification
follower raised (an undisturbed run should raise none). CADENCE_SECONDS sets the length
(`make cadence`: 600; default 120).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from django.db import connection

from agents.models import Region
from events.models import Event
from tests.e2e.processes import manage, running
from tests.support.redis_server import private_redis
from verification.analysis import percentile
from verification.models import Flag

from .harness import Result, use_fresh_database

REPO = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("CADENCE_SECONDS", "120"))
WARMUP = 12  # seconds: the world's first tick falls due 12 s after it is created


def run() -> list[Result]:
    path = use_fresh_database("cadence")
    connection.close()
    log_dir = Path(tempfile.mkdtemp(prefix="selfplay-cadence-"))
    with private_redis(log_dir) as server:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "REDIS_URL": server.url,
               "DJANGO_SETTINGS_MODULE": "selfplay.settings", "PYTHONPATH": str(REPO),
               "SELFPLAY_SIM_TICK_SECONDS": "2", "SELFPLAY_PUBLISH_EVENTS": "1"}
        env.pop("CELERY_BROKER_URL", None)
        manage("selfplay_demo", "--starts-in", "10", env=env)
        manage("setup_periodic_tasks", env=env)
        region = Region.objects.get(id="meadow")
        with running(env, log_dir) as procs:
            procs.celery_worker("worker", concurrency=2)
            procs.celery_worker("planner", queues="planning")  # as make run's Procfile
            procs.celery_beat("beat")
            time.sleep(WARMUP)
            start, load_before = time.time(), os.getloadavg()
            out = log_dir / "baseline.jsonl"
            baseline = procs.start("baseline", [sys.executable, "-m", "tests.bench.call_at_loop",
                                                str(region.epoch.timestamp()), str(region.tick_seconds),
                                                str(out), str(SECONDS)])
            baseline.popen.wait(timeout=SECONDS + 60)
            baseline.ended_by_test = True  # it stops by itself after SECONDS
            end = time.time()
            procs.assert_healthy()
        base = [json.loads(line)["latenessMs"] for line in out.read_text().splitlines()]
        ours = lateness(region, start, end)
        flags = sorted(Flag.objects.filter(kind__in=["cadence_jitter", "missed_ticks"])
                       .values_list("kind", flat=True))
    load = " ".join(f"{a:.2f}" for a in load_before) + " -> " + " ".join(f"{a:.2f}" for a in os.getloadavg())
    print(f"cadence: {len(ours)} ticks over {end - start:.0f} s (baseline {len(base)} wakes), "
          f"cadence flags raised: {flags or 'none'}; load average (1/5/15 min) {load}; logs in {log_dir}",
          flush=True)
    return [
        Result("cadence.lateness_p50", percentile(ours, 50), percentile(base, 50), "ms", higher_is_better=False),
        Result("cadence.lateness_p99", percentile(ours, 99), percentile(base, 99), "ms", higher_is_better=False),
        Result("cadence.lateness_max", max(ours), max(base), "ms", higher_is_better=False),
    ]


def lateness(region: Region, start: float, end: float) -> list[float]:
    """Return the lateness (ms) of every tick of `region` due within [start, end)."""
    epoch, interval = region.epoch.timestamp(), region.tick_seconds
    found = []
    for data, recorded_at in Event.objects.filter(stream_id=region.stream_id, type="world.tick.completed") \
            .values_list("data", "recorded_at"):
        due = epoch + data["tick"] * interval
        if start <= due < end:
            found.append((recorded_at.timestamp() - due) * 1000)
    return found
