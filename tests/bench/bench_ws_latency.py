"""Append → receive latency for 200 WebSocket clients in another process.

Ours: `record()` commits an event, publishes it through channels-redis, and real daphne's
/stream consumers deliver it. Baseline, in the same run and to the same client process: redis-py
PUBLISH to a bare `websockets` server that broadcasts to the same 200 clients.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection

from events.store import ANY, NewEvent, record
from tests.e2e.processes import dedicated_redis, running, wait_for
from verification.analysis import percentile

from .harness import Result, use_fresh_database

CLIENTS, EVENTS, INTERVAL = 200, 100, 0.05
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(procs, url: str, send, log_dir: Path, name: str) -> list[float]:
    out = log_dir / f"{name}.json"
    clients = procs.start(f"{name}-clients", [sys.executable, "-m", "tests.bench.ws_clients", url,
                                              str(CLIENTS), str(EVENTS), str(out)])
    wait_for(lambda: "ready" in clients.log.read_text(), timeout=120, interval=0.2)
    for i in range(EVENTS):
        send(i)
        time.sleep(INTERVAL)
    clients.popen.wait(timeout=120)
    latencies = json.loads(out.read_text())
    assert len(latencies) == CLIENTS * EVENTS, f"{name}: {len(latencies)} deliveries"
    return latencies


def run() -> list[Result]:
    path = use_fresh_database("ws_latency")
    log_dir = Path(tempfile.mkdtemp(prefix="selfplay-ws-bench-"))
    with dedicated_redis() as redis_url:
        settings.SELFPLAY_PUBLISH_EVENTS = True
        settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [redis_url]
        from channels.layers import channel_layers

        channel_layers.backends.clear()
        connection.close()
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "REDIS_URL": redis_url,
               "DJANGO_SETTINGS_MODULE": "selfplay.settings", "PYTHONPATH": str(REPO),
               "SELFPLAY_LOG_LEVEL": "WARNING",
               # All 200 clients come from one address: lift the per-address socket bound.
               "SELFPLAY_WS_MAX_CONNECTIONS_PER_CLIENT": str(CLIENTS + 10)}
        with running(env, log_dir) as procs:
            port, base_port = free_port(), free_port()
            procs.start("daphne", [str(REPO / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(port),
                                   "selfplay.asgi:application"])
            baseline = procs.start("baseline", [sys.executable, "-m", "tests.bench.ws_baseline_server",
                                                str(base_port), redis_url, "bench"])
            wait_for(lambda: _answers(port) and "listening" in baseline.log.read_text(), timeout=60)

            def ours_send(i):
                record([("world:bench", [NewEvent("bench.ping", {"i": i, "sentAt": time.time()})], ANY)])

            publisher = redis.Redis.from_url(redis_url)

            def baseline_send(i):
                publisher.publish("bench", json.dumps(
                    {"type": "event", "event": {"position": i + 1, "data": {"i": i, "sentAt": time.time()}}}))

            ours = measure(procs, f"ws://127.0.0.1:{port}/stream?streamId=world:bench&from=0", ours_send,
                           log_dir, "ours")
            base = measure(procs, f"ws://127.0.0.1:{base_port}/", baseline_send, log_dir, "baseline")
    return [
        Result("ws.latency_p50_200_clients", percentile(ours, 50), percentile(base, 50), "ms", higher_is_better=False),
        Result("ws.latency_p99_200_clients", percentile(ours, 99), percentile(base, 99), "ms", higher_is_better=False),
    ]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
