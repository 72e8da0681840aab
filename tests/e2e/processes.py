"""Start, watch and stop the project's real processes (celery worker, beat, daphne) in tests.

Every process runs in its own session, so one signal to its process group reaches the whole
tree (a prefork worker's pool children included), and writes its output to a log file whose
tail a failing test prints.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import redis

from tests.support.databases import REPO

BIN = Path(sys.executable).parent
# Celery's log format is "[time: LEVEL/ProcessName] message".
ERROR_MARKERS = ("ERROR/", "CRITICAL/", "Traceback (most recent call last)")
T = TypeVar("T")


@dataclass
class Process:
    """A started child process, the leader of its own process group."""

    name: str
    popen: subprocess.Popen
    log: Path
    ended_by_test: bool = False

    @property
    def pgid(self) -> int:
        return self.popen.pid  # start_new_session makes the child its group's leader

    def alive(self) -> bool:
        return self.popen.returncode is None and not self._exited()

    def kill(self) -> int:
        """SIGKILL the whole process group at once, as a crash or the OOM killer would."""
        self.ended_by_test = True
        self._signal_group(signal.SIGKILL)
        return self.popen.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM the leader, SIGKILL the group after it ends or after `timeout`; return the
        leader's exit code.

        The leader alone, as Ctrl-C or `kill <pid>` would: a Celery worker then finishes the
        task its pool child is running (warm shutdown); SIGTERM to the child too killed that
        task mid-way, which the worker logs as an error (WorkerLostError)."""
        self.ended_by_test = True
        if self.popen.returncode is None:
            self.popen.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while not self._exited() and time.monotonic() < deadline:
                time.sleep(0.05)
            # Pool children may outlive their leader; none is left behind.
            self._signal_group(signal.SIGKILL)
            self.popen.wait(timeout=10)
        return self.popen.returncode

    def _exited(self) -> bool:
        """Whether the leader has exited, without reaping it (so its pid stays ours)."""
        return os.waitid(os.P_PID, self.popen.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None

    def _signal_group(self, signum: int) -> None:
        # Only while the leader is unreaped: until then its pid, the group id, cannot be reused.
        if self.popen.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signum)

    def tail(self, lines: int = 40) -> str:
        return tail(self.log, lines)

    def problems(self) -> list[str]:
        """Return the log's error lines, and a note if the process died on its own."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        found = [f"{self.name}: {line}" for line in text.splitlines()
                 if any(marker in line for marker in ERROR_MARKERS)]
        if not self.ended_by_test and not self.alive():
            found.append(f"{self.name}: exited on its own")
        return found


@dataclass
class Processes:
    """The processes of one test; `stop_all()` ends every one still running."""

    env: dict[str, str]
    log_dir: Path
    started: list[Process] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Process:
        """Start `argv` in its own session with output to `<log_dir>/<name>.log`; `env` adds to
        the processes' environment."""
        log = self.log_dir / f"{name}.log"
        with open(log, "ab") as out:
            popen = subprocess.Popen(argv, env={**self.env, **(env or {}), "PYTHONUNBUFFERED": "1"}, cwd=REPO,
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        process = Process(name, popen, log)
        self.started.append(process)
        return process

    def celery_worker(self, name: str, *, concurrency: int = 1, env: dict[str, str] | None = None,
                      queues: str = "celery") -> Process:
        """Start a prefork worker on `queues` (comma-separated; "celery" is the simulation's, the
        default queue; "planning" is the planner's, "capabilities" the capability worker's, as in the Procfile)."""
        hostname = f"{name}-{random.randrange(16**8):08x}@%h"
        return self.start(name, [str(BIN / "celery"), "-A", "selfplay.celery", "worker", "--loglevel", "INFO",
                                 "--concurrency", str(concurrency), "--pool", "prefork",
                                 "--queues", queues, "-n", hostname], env)

    def celery_beat(self, name: str = "beat") -> Process:
        # The DatabaseScheduler reads its schedule from django-celery-beat's tables and ignores
        # --schedule (used by the default shelve scheduler only); it is given a path in the test's
        # directory anyway so nothing is ever written to the working tree.
        return self.start(name, [
            str(BIN / "celery"), "-A", "selfplay.celery", "beat", "--loglevel", "INFO",
            "--scheduler", "agents.beat:AlignedScheduler",
            "--schedule", str(self.log_dir / f"{name}-schedule"),
            "--pidfile", str(self.log_dir / f"{name}.pid"),
        ])

    def assert_healthy(self) -> None:
        """Fail at once if a process died on its own or logged an error or a traceback."""
        found = [line for process in self.started for line in process.problems()]
        assert not found, "a process failed:\n" + "\n".join(found[:20])

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.stop()

    def report(self, lines: int = 40) -> str:
        """Return the tail of every process's log, for a failure message."""
        return "\n".join(
            f"----- {p.name} (pid {p.popen.pid}, exit {p.popen.returncode}) {p.log}\n{p.tail(lines)}"
            for p in self.started)


@contextlib.contextmanager
def running(env: dict[str, str], log_dir: Path) -> Iterator[Processes]:
    """Yield a `Processes`; on exit stop them all, printing their logs if the block failed."""
    processes = Processes(env, log_dir)
    try:
        yield processes
    except BaseException:
        print(processes.report(), file=sys.stderr)
        raise
    finally:
        processes.stop_all()


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `manage.py <args>` to completion; raise with its output if it fails."""
    result = subprocess.run([sys.executable, str(REPO / "manage.py"), *args], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} exited {result.returncode}\n"
                             f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def wait_for(probe: Callable[[], T], *, timeout: float, interval: float = 0.5,
             message: str | Callable[[], str] = "condition") -> T:
    """Call `probe` every `interval` seconds until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {text}")
        time.sleep(interval)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


CLAIM_KEY = "selfplay:e2e:claimed-by"


@contextlib.contextmanager
def dedicated_redis(host: str = "127.0.0.1", port: int = 6379) -> Iterator[str]:
    """Yield the URL of a flushed Redis logical database (2..15) claimed for this test alone.

    Databases 0 and 1 are left to `make run` and development. A database another e2e run has
    claimed is passed over; the claim expires on its own if a run dies without cleaning up.
    """
    token = f"{os.getpid()}-{random.randrange(16**8):08x}"
    numbers = random.sample(range(2, 16), 14)
    try:
        redis.Redis(host=host, port=port, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        raise AssertionError(
            f"Redis does not answer at {host}:{port} ({exc}); the e2e tests need a running Redis "
            "(`make redis` starts one)") from exc
    for number in numbers:
        client = redis.Redis(host=host, port=port, db=number)
        if client.set(CLAIM_KEY, token, nx=True, ex=900):
            break
        client.close()
    else:
        raise AssertionError("every Redis database 2..15 is claimed by another e2e run")
    try:
        client.flushdb()
        client.set(CLAIM_KEY, token, ex=900)
        yield f"redis://{host}:{port}/{number}"
    finally:
        client.flushdb()
        client.close()


@dataclass
class PrivateRedis:
    """A redis-server of the test's own, on its own port, that the test may stop and restart."""

    processes: Processes
    port: int
    process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        server = shutil.which("redis-server")
        assert server, "redis-server is not installed (`.ci/run` installs it)"
        self.process = self.processes.start(f"redis-{self.port}", [
            server, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"])
        wait_for(self.answers, timeout=10, interval=0.1, message=f"redis-server on port {self.port}")
        return self

    def stop(self) -> None:
        assert self.process is not None
        self.process.stop()
        self.process = None

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False
