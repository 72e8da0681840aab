"""Two processes recording to unrelated streams on one PostgreSQL database, against one.

Each process calls `events.store.record` (append, projections, checkpoint hook, commit) once per
event, to 50 streams of its own. `ours` is the two processes' events per second together,
`baseline` one process alone on the same database, alternated and best of ROUNDS each. A second
line compares the two processes with the same two under the old global advisory lock (taken at
the start of each append's transaction, as the store did before: docs/parallel-appends.md).

Needs PostgreSQL: POSTGRES_BENCH_URL (default postgres://postgres@127.0.0.1:5432/selfplay) names
the server; a database `<its name>_parallel_bench` is created and dropped. Without a server
the benchmark says so on stderr and prints nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.databases import REPO, process_env

from .harness import Result

COUNT, ROUNDS = 1500, 3


def _server() -> tuple[str, str]:
    url = os.environ.get("POSTGRES_BENCH_URL", "postgres://postgres@127.0.0.1:5432/selfplay")
    base, _, name = url.rpartition("/")
    return f"{base}/postgres", f"{base}/{name}_parallel_bench"


def _writers(url: str, count: int, *, global_lock: bool = False, offset: int = 0) -> float:
    """Run `count` writer processes at once; return their events per second together."""
    env = process_env(url, SELFPLAY_LOG_LEVEL="WARNING")
    args = ["global-lock"] if global_lock else []
    procs = [subprocess.Popen([sys.executable, "-m", "tests.bench.parallel_recorder", str(offset + w), str(COUNT),
                               *args], env=env, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for w in range(count)]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    seconds = [float(proc.communicate(timeout=900)[0]) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs)
    return count * COUNT / max(seconds)


def run() -> list[Result]:
    import psycopg

    admin, url = _server()
    name = url.rpartition("/")[2]
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=2) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            db.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        print(f"bench_parallel_appends: SKIPPED, no PostgreSQL at {admin}: {exc}", file=sys.stderr)
        return []
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], env=process_env(url),
                       cwd=REPO, check=True, timeout=600)
        one, two, serial = [], [], []
        for round_ in range(ROUNDS):
            worker = 10 * round_
            one.append(_writers(url, 1, offset=worker))
            two.append(_writers(url, 2, offset=worker + 1))
            serial.append(_writers(url, 2, global_lock=True, offset=worker + 3))
    finally:
        with psycopg.connect(admin, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return [
        Result("event_store.parallel_appends", max(two), max(one), "events/s"),
        Result("event_store.parallel_appends_vs_global_lock", max(two), max(serial), "events/s"),
    ]
