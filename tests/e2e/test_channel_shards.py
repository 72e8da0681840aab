"""Live events through a channel layer sharded over two Redis servers (SELFPLAY_CHANNEL_REDIS_URLS).

Real beat and worker tick the demo world and publish each tick with group_send; daphne
processes (each a channel-layer client of its own, whose hub channel lives on the server its
random prefix hashes to) are started until one listens on each server. A WebSocket client of
each must receive the world's events live, every position once and in order.
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest
import redis
from channels_redis.utils import _consistent_hash
from websockets.sync.client import connect as ws_connect

from events.publish import stream_group
from tests.support.databases import fresh_database, process_env
from tests.support.ports import free_port
from tests.support.redis_cluster import spare_redis

from .processes import BIN, manage, running, wait_for
from .test_daemon import query

STREAM = "world:meadow"
MAX_DAPHNES = 8


def head(url: str) -> int:
    rows = query(url, "SELECT version FROM events_stream WHERE id = %s", (STREAM,))
    return rows[0][0] if rows else 0


def answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Listener(threading.Thread):
    """A WebSocket client of one daphne that keeps the event positions it receives."""

    def __init__(self, port: int, start_from: int) -> None:
        super().__init__(daemon=True)
        self.url = f"ws://127.0.0.1:{port}/stream?streamId={STREAM}&from={start_from}"
        self.origin = f"http://127.0.0.1:{port}"
        self.positions: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with ws_connect(self.url, origin=self.origin) as ws:
            while not self.stop.is_set():
                try:
                    message = json.loads(ws.recv(timeout=1))
                except TimeoutError:
                    continue
                if message["type"] == "event":
                    self.positions.append(message["event"]["position"])


@pytest.mark.e2e
@pytest.mark.django_db
def test_live_events_reach_clients_whose_hub_lives_on_either_server(tmp_path: Path):
    with fresh_database(tmp_path) as url, spare_redis(tmp_path) as first, spare_redis(tmp_path) as second:
        hosts = [first.url, second.url]
        env = process_env(url, REDIS_URL=first.url, SELFPLAY_CHANNEL_REDIS_URLS=",".join(hosts),
                          SELFPLAY_SIM_TICK_SECONDS="1")
        env.pop("CELERY_BROKER_URL", None)
        manage("selfplay_demo", "--agents", "4", env=env)
        manage("setup_periodic_tasks", env=env)
        group = stream_group(STREAM)
        group_host = redis.Redis.from_url(hosts[_consistent_hash(group, 2)])

        def members() -> set[str]:
            """The channels in the stream's group: its hub's channel, one per daphne that listens."""
            return {m.decode() for m in group_host.zrange(f"asgi:group:{group}", 0, -1)}

        with running(env, tmp_path) as processes:
            processes.celery_worker("worker")
            processes.celery_beat()
            wait_for(lambda: head(url) > 10, timeout=60, message="the demo world to tick")
            listeners: dict[int, Listener] = {}  # server index → a client of a daphne listening there
            started: list[Listener] = []
            for n in range(MAX_DAPHNES):
                port = free_port()
                processes.start(f"daphne-{n}", [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port),
                                                "selfplay.asgi:application"])
                wait_for(lambda port=port: answers(port), timeout=30, message=f"daphne {n} listening")
                known = members()
                listener = Listener(port, head(url))
                listener.start()
                started.append(listener)
                joined = wait_for(lambda known=known: members() - known,
                                  timeout=20, message=f"daphne {n}'s hub in {group}")
                [channel] = joined
                server = _consistent_hash(channel[:channel.index("!") + 1], 2)
                listeners.setdefault(server, listener)
                if len(listeners) == 2:
                    break
            assert sorted(listeners) == [0, 1], f"{MAX_DAPHNES} daphnes all listen on one server"
            print(f"{len(started)} daphne processes started until one listened on each server")
            wait_for(lambda: all(len(li.positions) >= 20 for li in listeners.values()), timeout=60,
                     message=lambda: f"live events on both servers ({[len(li.positions) for li in listeners.values()]})")
            processes.assert_healthy()
            for listener in started:
                listener.stop.set()
                listener.join(timeout=10)

    for server, listener in listeners.items():
        got = listener.positions
        assert got == list(range(got[0], got[0] + len(got))), (server, got)
