"""A private 3-master Redis Cluster (and spare plain servers) on free ports in 7100-7199.

Each node is a redis-server of this process's own (no persistence, `nodes-<port>.conf` in a
temporary folder); `redis-cli --cluster create` assigns the 16,384 slots. The test run fails
when redis-server or redis-cli is missing: nothing here is skipped.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from .redis_server import RedisServer, free_ports_in

PORTS = range(7100, 7200)


class LocalCluster:
    """Three cluster-enabled redis-servers joined into one cluster, no replicas."""

    def __init__(self, directory: Path, masters: int = 3) -> None:
        self.directory = directory
        self.nodes = [
            RedisServer(directory, port, extra_args=(
                "--cluster-enabled", "yes", "--cluster-config-file", str(directory / f"nodes-{port}.conf"),
                "--cluster-node-timeout", "5000"))
            for port in free_ports_in(PORTS, masters, with_bus=True)]
        self.url = "redis+cluster://" + ",".join(f"127.0.0.1:{node.port}" for node in self.nodes) + "/"

    def start(self, timeout: float = 30) -> None:
        cli = shutil.which("redis-cli")
        if cli is None:
            raise AssertionError("redis-cli is not installed (Debian: apt-get install redis-server; .ci/run does)")
        for node in self.nodes:
            node.start()
        created = subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{node.port}" for node in self.nodes),
             "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True, text=True, timeout=timeout)
        if created.returncode != 0:
            raise AssertionError(f"redis-cli --cluster create failed:\n{created.stdout}\n{created.stderr}")
        deadline = time.monotonic() + timeout
        while not all(self.node_ok(node) for node in self.nodes):
            if time.monotonic() > deadline:
                raise AssertionError(f"the cluster on {self.url} never reached cluster_state:ok")
            time.sleep(0.1)

    @staticmethod
    def node_ok(node: RedisServer) -> bool:
        info = redis.Redis(port=node.port, socket_connect_timeout=1, decode_responses=True).execute_command(
            "CLUSTER INFO")  # redis-py parses it into a dict
        return info.get("cluster_state") == "ok" and str(info.get("cluster_slots_ok")) == "16384"

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()


@contextlib.contextmanager
def local_cluster(directory: Path) -> Iterator[LocalCluster]:
    """Yield a started 3-master cluster; stop its servers afterwards."""
    cluster = LocalCluster(directory)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@contextlib.contextmanager
def spare_redis(directory: Path) -> Iterator[RedisServer]:
    """Yield a started plain redis-server on a free port in 7100-7199; kill it afterwards."""
    server = RedisServer(directory, free_ports_in(PORTS, 1)[0])
    try:
        server.start()
        yield server
    finally:
        server.kill()
