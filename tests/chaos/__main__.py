"""`make chaos`: run the fault experiments on the real processes and print one CHAOS line each.

    python -m tests.chaos [--quick] [--only worker_kills,redis_restarts,...] [--agents N]

PostgreSQL when it answers (database `selfplay_chaos_run`, recreated; CHAOS_POSTGRES_URL
overrides), SQLite in var/chaos/ otherwise (or CHAOS_DATABASE_URL). Logs, the WebSocket clients'
status and the charts go to var/chaos/. Exit 1 on any violation.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[2]
VAR = REPO / "var" / "chaos"
EXPERIMENTS = ["worker_kills", "redis_restarts", "two_beats", "worker_outage", "ws_clients"]


def choose_database() -> str:
    if os.environ.get("CHAOS_DATABASE_URL"):
        return os.environ["CHAOS_DATABASE_URL"]
    url = os.environ.get("CHAOS_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/selfplay_chaos_run")
    base, name = url.rsplit("/", 1)
    try:
        with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=2) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        return url
    except psycopg.OperationalError:
        path = VAR / "chaos.sqlite3"
        return f"sqlite:///{path}"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter faults (a smoke run)")
    parser.add_argument("--only", default=",".join(EXPERIMENTS))
    parser.add_argument("--agents", type=int, default=30)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - set(EXPERIMENTS))
    if unknown:
        parser.error(f"unknown experiments {unknown}; known: {EXPERIMENTS}")

    shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir(parents=True)
    url = choose_database()
    os.environ.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "selfplay.settings",
                       "SELFPLAY_LOG_LEVEL": "WARNING"})
    env = {**os.environ, "PYTHONPATH": str(REPO), "SELFPLAY_SIM_TICK_SECONDS": "2"}
    subprocess.run([sys.executable, str(REPO / "manage.py"), "migrate", "--no-input", "-v", "0"],
                   env=env, check=True, cwd=REPO)
    import django

    django.setup()
    from .charts import events_chart, lateness_chart
    from .daemon import Daemon, read_jsonl
    from .experiments import Chaos

    daemon = Daemon(VAR, url, args.agents)
    started = time.time()
    print(f"chaos: {'PostgreSQL' if url.startswith('postgres') else 'SQLite'} ({url}), "
          f"{args.agents} agents, ticks every 2 s; logs in {VAR}", flush=True)
    try:
        daemon.redis.start()
        for command in (("selfplay_demo", "--agents", str(args.agents), "--starts-in", "12"),
                        ("setup_periodic_tasks",)):
            code, last, _ = daemon.manage(*command)
            if code != 0:
                raise SystemExit(f"{' '.join(command)} failed: {last}")
        chaos = Chaos(daemon, quick=args.quick, seed=args.seed)
        chaos.start()
        outcomes = chaos.run(names)
        ours = daemon.lateness(0, time.time())
        baseline = [(r["dueAt"], r["latenessMs"]) for r in read_jsonl(chaos.baseline)]
        lateness_chart(VAR / "lateness.png", ours=ours, baseline=baseline, outcomes=outcomes,
                       origin=chaos.started_at)
        events_chart(VAR / "events-per-tick.png", daemon.events_per_tick())
    finally:
        daemon.stop()
    failed = [o.name for o in outcomes if not o.ok]
    print(f"chaos: {len(outcomes) - len(failed)}/{len(outcomes)} experiments ok"
          f"{' (failed: ' + ', '.join(failed) + ')' if failed else ''} in {(time.time() - started) / 60:.1f} min; "
          f"charts: {VAR / 'lateness.png'}, {VAR / 'events-per-tick.png'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
