"""Regions across workers: 8 regions × 1,000 agents on PostgreSQL, ticked by 2 worker processes
against 1, in the same run and on the same database.

Each worker is an OS process (tests/support/ticker.py) that ticks its regions as a Celery
worker would run `agents.simulation_tick`, with an injected clock so that every call is one tick.
The two-worker phases split the regions by tick shard (crc32(region) % 2, as
SELFPLAY_TICK_SHARDS=2 routes them: 4 and 4). After one untimed tick of every region, phases run
1, 2, 2, 1 workers, so that the log's growth weighs on both sides alike; ticks/s = ticks recorded / wall time from the start signal to
the last worker's end.

`SELFPLAY_BENCH_POSTGRES_URL` (default postgres://postgres@127.0.0.1:5432/selfplay_cluster_bench)
is dropped and re-created. PostgreSQL must answer: this benchmark fails rather than skips.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import psycopg

from agents.routing import tick_shard
from tests.support.databases import REPO, migrate, process_env

from .harness import Result

URL = os.environ.get("SELFPLAY_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/selfplay_cluster_bench")
REGIONS = [f"r{n}" for n in range(8)]
AGENTS = int(os.environ.get("SELFPLAY_BENCH_REGION_AGENTS", 1000))
TICKS_PER_PHASE = int(os.environ.get("SELFPLAY_BENCH_REGION_TICKS", 4))
TICKER = REPO / "tests" / "support" / "ticker.py"


def recreate_database(url: str) -> None:
    base, _, name = url.rpartition("/")
    try:
        with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        raise RuntimeError(f"bench_regions needs PostgreSQL at {base} (SELFPLAY_BENCH_POSTGRES_URL): {exc}") from exc


def phase(env: dict, workers: int, first: int, count: int = TICKS_PER_PHASE) -> tuple[float, int, float]:
    """Tick every region `count` times with `workers` processes; return (seconds, ticks, seconds
    the workers waited for the event store's write lock, summed)."""
    groups = [",".join(r for r in REGIONS if tick_shard(r, workers) == shard) for shard in range(workers)]
    last = first + count - 1
    procs = [subprocess.Popen([sys.executable, str(TICKER), "tick", group, str(first), str(last)],
                              env=env, cwd=REPO, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for group in groups]
    for proc in procs:
        line = proc.stdout.readline().strip()
        if line != "READY":
            raise RuntimeError(f"tick worker did not start: {line} {proc.stderr.read()}")
    started = time.perf_counter()
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    ticks, lock_wait = 0, 0.0
    for proc in procs:
        out, err = proc.communicate(timeout=1800)
        if proc.returncode != 0:
            raise RuntimeError(f"tick worker failed:\n{err}")
        report = json.loads(out.splitlines()[-1])
        ticks += sum(len(t) for t in report["ticks"].values())
        lock_wait += report["lockWaitSeconds"]
    seconds = time.perf_counter() - started
    expected = len(REGIONS) * count
    if ticks != expected:
        raise RuntimeError(f"{workers} workers recorded {ticks} ticks, not {expected}")
    return seconds, ticks, lock_wait


def run() -> list[Result]:
    recreate_database(URL)
    env = process_env(URL, SELFPLAY_PUBLISH_EVENTS="0", SELFPLAY_LOG_LEVEL="WARNING")
    migrate(URL)
    started = time.perf_counter()
    subprocess.run([sys.executable, str(TICKER), "setup", ",".join(REGIONS), str(AGENTS)],
                   env=env, cwd=REPO, check=True, timeout=1800)
    print(f"regions: {len(REGIONS)} regions x {AGENTS} agents created in {time.perf_counter() - started:.1f} s; "
          f"load average before {os.getloadavg()[0]:.2f}", flush=True)
    # Untimed: each region's first tick makes its projections' and agent streams' first rows.
    phase(env, 2, 1, count=1)
    totals = {1: [0.0, 0], 2: [0.0, 0]}
    first = 2
    for workers in (1, 2, 2, 1):
        seconds, ticks, lock_wait = phase(env, workers, first)
        first += TICKS_PER_PHASE
        totals[workers][0] += seconds
        totals[workers][1] += ticks
        print(f"regions: {workers} worker(s): {ticks} ticks in {seconds:.2f} s = {ticks / seconds:.2f} ticks/s, "
              f"{lock_wait:.2f} s waiting for the store's locks (load average {os.getloadavg()[0]:.2f})",
              flush=True)
    ours = totals[2][1] / totals[2][0]
    baseline = totals[1][1] / totals[1][0]
    return [Result("regions.parallel_ticks", ours, baseline, "ticks/s")]
