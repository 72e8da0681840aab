"""The daemon under test: daphne, a worker, beat and a private Redis, plus what they wrote.

Processes are started and killed with tests/e2e/processes.py; the log is read through the ORM
(the harness process is set up on the same database as the daemon).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.db.models import Count

from agents.models import Region
from events.models import Event, Stream
from tests.e2e.processes import BIN, Process, Processes
from tests.support.databases import REPO, process_env
from tests.support.ports import free_port
from tests.support.redis_server import RedisServer

REGION = "meadow"
WORLD = f"world:{REGION}"
TICK_SECONDS = 2
LOCK_TTL_SECONDS = 15
TICK_PAUSE_SECONDS = "0.3"  # the test-only in-tick pause of the worker-kill experiment
OPEN_TICK_MARKER = f"TEST-ONLY tick transaction open: region {REGION} tick "


def log_time(line: str) -> float | None:
    """Return the Unix time of a Celery log line ("[2026-11-29 07:34:57,357: INFO/…] …")."""
    if not line.startswith("[") or len(line) < 24:
        return None
    try:
        return datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    except ValueError:
        return None


def log_lines(process: Process, *texts: str, since: float = 0.0, until: float = float("inf")) -> list[float]:
    """Return the times of `process`'s log lines containing every one of `texts` in [since, until)."""
    found = []
    for line in process.log.read_text(errors="replace").splitlines():
        if all(t in line for t in texts):
            at = log_time(line)
            if at is not None and since <= at < until:
                found.append(at)
    return found


@dataclass
class Fault:
    at: float
    label: str


@dataclass
class Daemon:
    var: Path
    database_url: str
    agents: int
    redis: RedisServer = field(init=False)
    processes: Processes = field(init=False)
    port: int = field(init=False)
    worker: Process | None = None
    beat: Process | None = None
    daphne: Process | None = None
    counts: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.redis = RedisServer(self.var)
        self.port = free_port()
        env = process_env(self.database_url, REDIS_URL=self.redis.url,
                          SELFPLAY_SIM_TICK_SECONDS=str(TICK_SECONDS),
                          SELFPLAY_BEAT_LOCK_TTL_SECONDS=str(LOCK_TTL_SECONDS),
                          SELFPLAY_LOG_LEVEL="INFO", PYTHONPATH=str(REPO),
                          # Every client of the run connects from 127.0.0.1: lift the per-address
                          # caps meant for strangers (21 sockets and their resyncs at once).
                          SELFPLAY_WS_MAX_CONNECTIONS_PER_CLIENT="100", SELFPLAY_READ_RATE_LIMIT="100000")
        env.pop("CELERY_BROKER_URL", None)
        env.pop("SELFPLAY_TEST_TICK_PAUSE_SECONDS", None)
        self.processes = Processes(env, self.var)

    # --- processes ----------------------------------------------------------------------

    def name(self, kind: str) -> str:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return f"{kind}-{self.counts[kind]}"

    def start_worker(self, *, pause_in_tick: bool = False) -> Process:
        env = {"SELFPLAY_TEST_TICK_PAUSE_SECONDS": TICK_PAUSE_SECONDS} if pause_in_tick else None
        self.worker = self.processes.celery_worker(self.name("worker"), concurrency=2, env=env)
        return self.worker

    def start_planner(self) -> Process:
        """Start the planning worker (the Procfile's `planner`, on the `planning` queue)."""
        return self.processes.celery_worker(self.name("planner"), queues="planning")

    def start_beat(self) -> Process:
        return self.processes.celery_beat(self.name("beat"))

    def start_daphne(self) -> Process:
        self.daphne = self.processes.start(self.name("daphne"), [
            str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(self.port), "selfplay.asgi:application"])
        return self.daphne

    def manage(self, *args: str, timeout: float = 900) -> tuple[int, str, float]:
        """Run `manage.py <args>`; return its exit code, its output's last line and its seconds."""
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(REPO / "manage.py"), *args], env=self.processes.env,
                                cwd=REPO, capture_output=True, text=True, timeout=timeout)
        out = (result.stdout.strip() or result.stderr.strip()).splitlines()
        return result.returncode, (out[-1] if out else ""), time.monotonic() - started

    def stop(self) -> None:
        self.processes.stop_all()
        self.redis.kill()

    # --- the log ------------------------------------------------------------------------

    def region(self) -> Region:
        return Region.objects.get(id=REGION)

    def due(self, tick: int) -> float:
        region = self.region()
        return region.epoch.timestamp() + tick * region.tick_seconds

    def due_tick(self, at: float | None = None) -> int:
        region = self.region()
        return max(0, int(((at or time.time()) - region.epoch.timestamp()) // region.tick_seconds))

    def completed(self) -> list[tuple[int, float]]:
        """Return (tick, recorded time) of every completed tick, in log order."""
        return [(data["tick"], at.timestamp()) for data, at in
                Event.objects.filter(stream_id=WORLD, type="world.tick.completed")
                .order_by("position").values_list("data", "recorded_at")]

    def skipped(self) -> list[tuple[int, int, float]]:
        return [(data["fromTick"], data["toTick"], at.timestamp()) for data, at in
                Event.objects.filter(stream_id=WORLD, type="world.ticks.skipped")
                .order_by("position").values_list("data", "recorded_at")]

    def head(self) -> int:
        return Stream.objects.filter(id=WORLD).values_list("version", flat=True).first() or 0

    def last_tick(self) -> int:
        row = (Event.objects.filter(stream_id=WORLD, type="world.tick.completed")
               .order_by("-position").values_list("data", flat=True).first())
        return row["tick"] if row else 0

    def lateness(self, since: float, until: float) -> list[tuple[float, float]]:
        """Return (due time, lateness ms) of the completed ticks due in [since, until)."""
        found = []
        for tick, recorded in self.completed():
            due = self.due(tick)
            if since <= due < until:
                found.append((due, (recorded - due) * 1000))
        return found

    def events_per_tick(self) -> dict[int, int]:
        """Return how many events each tick wrote (every stream; metadata.tick, in its column)."""
        return dict(Event.objects.exclude(tick=None).values("tick").annotate(n=Count("global_position"))
                    .values_list("tick", "n"))

    def wait_on_time(self, timeout: float = 120) -> bool:
        """Wait until the last completed tick is the one due now (or the one before)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.last_tick() >= self.due_tick() - 1:
                return True
            time.sleep(0.5)
        return False

    def open_tick(self, worker: Process) -> int | None:
        """Return the tick the worker's log last said holds its transaction open."""
        text = worker.log.read_text(errors="replace")
        at = text.rfind(OPEN_TICK_MARKER)
        if at < 0:
            return None
        return int(text[at + len(OPEN_TICK_MARKER):].split(maxsplit=1)[0])


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
