"""A private redis-server on a free port, for tests and the chaos harness; it can be restarted."""

from __future__ import annotations

import contextlib
import random
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from .ports import free_port, port_is_free


def free_ports_in(ports: range, count: int, *, with_bus: bool = False) -> list[int]:
    """Return `count` free loopback ports from `ports` (and their cluster bus, port + 10000),
    starting at a random one so that parallel runs rarely pick the same."""
    start = random.randrange(len(ports))
    found = []
    for i in range(len(ports)):
        port = ports[(start + i) % len(ports)]
        if port_is_free(port) and (not with_bus or port_is_free(port + 10000)):
            found.append(port)
            if len(found) == count:
                return found
    raise AssertionError(f"fewer than {count} free ports in {ports.start}-{ports.stop - 1}")


class RedisServer:
    """One redis-server without persistence: a restart loses everything, as a crash would."""

    def __init__(self, directory: Path, port: int | None = None, extra_args: tuple[str, ...] = ()) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.extra_args = extra_args
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = directory / f"redis-{self.port}.log"
        self.popen: subprocess.Popen | None = None

    def start(self, timeout: float = 10) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise AssertionError("redis-server is not installed (Debian: apt-get install redis-server)")
        self.popen = subprocess.Popen(
            [server, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--logfile", str(self.log), *self.extra_args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"redis-server on port {self.port} did not start:\n"
                                     f"{self.log.read_text(errors='replace') if self.log.exists() else ''}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the server (no persistence: every key and queue is gone)."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False


@contextlib.contextmanager
def private_redis(directory: Path) -> Iterator[RedisServer]:
    """Yield a started private Redis; kill it afterwards."""
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.kill()
