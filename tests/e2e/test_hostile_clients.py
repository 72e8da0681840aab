"""A running daemon left open to hostile clients and a restarting Redis (issue: safe to leave running).

Real daphne, Celery worker and beat, on a fresh database and a redis-server of the test's own
that the test restarts. Clients are raw sockets and `websockets`, as an attacker's script would be.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import struct
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
import redis
from websockets.sync.client import connect as ws_connect

from events.compact import unpack_id
from tests.support.databases import fresh_database, process_env
from tests.support.ports import free_port

from .processes import BIN, PrivateRedis, manage, running, wait_for
from .test_daemon import query

REGION = "meadow"
BIG = "archive"  # a region with a long history, for catch-up
PLAYER, PASSWORD = "alice", "pw-alice-12345"
MAX_PER_CLIENT = 20
pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


class Stack:
    def __init__(self, url: str, database_url: str, processes, daphne, redis: PrivateRedis, token: str):
        self.url, self.database_url = url, database_url
        self.processes, self.daphne, self.redis, self.token = processes, daphne, redis, token
        self.host = urllib.parse.urlsplit(url).netloc

    def head(self, stream: str) -> int:
        rows = query(self.database_url, "SELECT version FROM events_stream WHERE id = %s", (stream,))
        return rows[0][0] if rows else 0

    def ws_url(self, stream: str, position: int) -> str:
        return f"ws://{self.host}/stream?streamId={stream}&from={position}"

    def rss_mib(self) -> float:
        status = Path(f"/proc/{self.daphne.popen.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024


@pytest.fixture(scope="module")
def stack(tmp_path_factory, django_db_blocker):
    tmp = tmp_path_factory.mktemp("hostile")
    with django_db_blocker.unblock(), fresh_database(tmp) as database_url, running(
            process_env(database_url), tmp) as processes:
        redis = PrivateRedis(processes, free_port()).start()
        env = process_env(database_url, REDIS_URL=redis.url, SELFPLAY_SIM_TICK_SECONDS="1",
                          SELFPLAY_PLAN_TICK_SECONDS="30", SELFPLAY_VISIBILITY_TIMEOUT="5",
                          SELFPLAY_WS_MAX_CONNECTIONS_PER_CLIENT=str(MAX_PER_CLIENT))
        env.pop("CELERY_BROKER_URL", None)
        processes.env = env
        # A long history to catch up on: 1,500 ticks of 20 agents, recorded with an injected clock.
        manage("selfplay_soak", "--ticks", "1500", "--agents", "20", "--region", BIG, "--every", "1500",
               env=env, timeout=600)
        manage("selfplay_demo", "--agents", "6", env=env)
        token = manage("selfplay_player", PLAYER, "--agent", "ada", "--password", PASSWORD, env=env).stdout.split()[-1]
        manage("setup_periodic_tasks", env=env)
        port = free_port()
        daphne = processes.start("daphne", [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port),
                                            "selfplay.asgi:application"])
        processes.celery_worker("worker")
        processes.celery_beat()
        stack = Stack(f"http://127.0.0.1:{port}", database_url, processes, daphne, redis, token)
        wait_for(lambda: stack.head(f"world:{REGION}") > 10, timeout=90,
                 message=lambda: f"the demo world to tick\n{processes.report()}")
        yield stack


# --- raw WebSocket clients -------------------------------------------------------------------


def open_raw_socket(stack: Stack, stream: str, position: int = 0, *,
                    receive_buffer: int = 4096) -> tuple[socket.socket, bytes]:
    """Open a WebSocket that will never read after the handshake; return it and what came with the 101."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect(("127.0.0.1", int(stack.host.split(":")[1])))
    key = base64.b64encode(os.urandom(16)).decode()
    path = f"/stream?streamId={stream}&from={position}"
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {stack.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {stack.url}\r\n\r\n").encode())
    sock.settimeout(10)
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1024)
    assert head.startswith(b"HTTP/1.1 101"), head[:200]
    return sock, head.partition(b"\r\n\r\n")[2]


def frames(sock: socket.socket, already: bytes = b""):
    """Yield (opcode, payload) of the server's (unmasked) frames as they arrive."""
    data = already

    def need(count: int) -> None:
        nonlocal data
        while len(data) < count:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            data += chunk

    while True:
        need(2)
        opcode, length, offset = data[0] & 0x0F, data[1] & 0x7F, 2
        if length == 126:
            need(4)
            length, offset = struct.unpack(">H", data[2:4])[0], 4
        elif length == 127:
            need(10)
            length, offset = struct.unpack(">Q", data[2:10])[0], 10
        need(offset + length)
        yield opcode, data[offset:offset + length]
        data = data[offset + length:]


def first_frame_text(sock: socket.socket, already: bytes) -> str:
    return next(frames(sock, already))[1].decode()


def masked_text_frame(text: str) -> bytes:
    """One client text frame (clients must mask: RFC 6455 §5.3)."""
    payload, mask = text.encode(), os.urandom(4)
    size = len(payload)
    length = bytes([0x80 | size]) if size < 126 else (
        bytes([0x80 | 126]) + struct.pack(">H", size) if size < 65536 else bytes([0x80 | 127]) + struct.pack(">Q", size))
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(mask * (size // 4 + 1), "big") >> (8 * (4 - size % 4)))
    return b"\x81" + length + mask + masked.to_bytes(size, "big")


def abort(sock: socket.socket) -> None:
    """Close with a reset, as a killed client would."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# --- the tests ---------------------------------------------------------------------------------


def test_never_reading_sockets_hold_bounded_memory_and_stop_when_they_leave(stack):
    stream = f"world:{BIG}"
    assert stack.head(stream) > 30_000  # about 15 MB of events to catch up on, per socket
    warm, _ = open_raw_socket(stack, stream)
    time.sleep(3)
    abort(warm)
    time.sleep(3)
    idle = stack.rss_mib()

    opened = [open_raw_socket(stack, stream) for _ in range(100)]
    refused = [json.loads(first_frame_text(sock, rest)) for sock, rest in opened[MAX_PER_CLIENT:]]
    assert {(m["type"], m["error"]["code"]) for m in refused} == {("error", "rate_limited")}
    time.sleep(15)  # every accepted socket has had time to fill its buffers
    loaded = stack.rss_mib()
    for sock, _ in opened:
        abort(sock)
    print(f"daphne RSS: idle {idle:.0f} MiB, with 100 never-reading sockets {loaded:.0f} MiB")
    assert loaded - idle < 50

    # Leaving released every slot: the address may open its full share again, and they catch up.
    def reopen():
        socks = [open_raw_socket(stack, f"world:{REGION}", stack.head(f"world:{REGION}"))
                 for _ in range(MAX_PER_CLIENT)]
        first = [json.loads(first_frame_text(sock, rest))["type"] for sock, rest in socks]
        for sock, _ in socks:
            abort(sock)
        return first if "error" not in first else None

    assert set(wait_for(reopen, timeout=20, interval=1, message="slots to be released")) <= {"event", "caught_up"}
    stack.processes.assert_healthy()


def test_a_never_reading_socket_that_floods_is_closed_and_holds_bounded_memory(stack):
    """daphne queues every frame it reads for the consumer, unbounded: a client that sends 60 KB
    frames as fast as it can and reads nothing must be closed, not buffered."""
    # A stream with no events: all the server sends is its answers, which must still be in this
    # socket's buffer when the server drops the connection (a reset discards what it had not sent).
    sock, rest = open_raw_socket(stack, "agent:nobody", 0, receive_buffer=65536)
    before = stack.rss_mib()
    frame = masked_text_frame("{" + " " * 60_000)  # not JSON: each one earns an error reply
    sent, until = 0, time.monotonic() + 6
    sock.settimeout(2)
    with contextlib.suppress(OSError):  # the server stops reading, or resets the connection
        while time.monotonic() < until:
            sock.sendall(frame)
            sent += 1
    grown = stack.rss_mib() - before
    sock.settimeout(10)
    texts, close = [], None
    with contextlib.suppress(OSError, EOFError):
        for opcode, payload in frames(sock, rest):
            if opcode == 0x8:
                close = struct.unpack(">H", payload[:2])[0]
                break
            texts.append(json.loads(payload))
    abort(sock)
    print(f"flood: {sent} frames of 60 KB sent before the server stopped reading; daphne grew {grown:.0f} MiB")
    errors = [m["error"]["code"] for m in texts if m["type"] == "error"]
    assert errors[-1] == "rate_limited" and set(errors[:-1]) == {"invalid"}, errors
    assert close == 4429
    assert grown < 50
    stack.processes.assert_healthy()


def test_concurrent_retries_with_one_idempotency_key_get_the_first_answer(stack):
    key = str(uuid.uuid4())
    body = json.dumps({"kind": "override", "streamId": "agent:ada", "action": {"type": "rest"},
                       "reason": "retried", "idempotencyKey": key}).encode()
    answers: list = [None] * 10
    barrier = threading.Barrier(10)

    def post(i):
        request = urllib.request.Request(f"{stack.url}/command", data=body, method="POST", headers={
            "Authorization": f"Token {stack.token}", "Content-Type": "application/json"})
        barrier.wait()
        with urllib.request.urlopen(request, timeout=30) as response:
            answers[i] = (response.status, json.loads(response.read()))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in answers] == [202] * 10
    assert len({json.dumps(answer, sort_keys=True) for _, answer in answers}) == 1
    recorded = query(stack.database_url, "SELECT event_id FROM events_event WHERE type = %s",
                     ("player.override.submitted",))
    assert [unpack_id(row[0]) for row in recorded] == [answers[0][1]["eventId"]]
    # One command was accepted, so one unit of alice's rate-limit budget is spent, not ten.
    spent = redis.Redis.from_url(stack.redis.url).get(f"selfplay:ratelimit:commands:player:{PLAYER}")
    assert spent == b"1"


def test_a_socket_acts_only_while_its_session_and_user_are_valid(stack):
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{stack.url}/login/", timeout=10).read()
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    form = urllib.parse.urlencode({"username": PLAYER, "password": PASSWORD, "csrfmiddlewaretoken": csrf}).encode()
    opener.open(urllib.request.Request(f"{stack.url}/login/", data=form, headers={"Referer": f"{stack.url}/login/"}),
                timeout=10).read()
    cookies = "; ".join(f"{c.name}={c.value}" for c in jar)
    assert "sessionid=" in cookies

    def command(ws, kind):
        ws.send(json.dumps({"type": "command", "kind": kind, "streamId": "agent:ada", "reason": "test"}))
        while True:
            message = json.loads(ws.recv(timeout=10))
            if message["type"] == "command.result":
                return message

    stream = "agent:ada"
    with ws_connect(stack.ws_url(stream, stack.head(stream)), origin=stack.url,
                    additional_headers={"Cookie": cookies}) as ws:
        assert command(ws, "pause")["status"] == 202
        query_update(stack, "UPDATE auth_user SET is_active = %s WHERE username = %s", (False, PLAYER))
        refused = command(ws, "resume")
        assert (refused["status"], refused["error"]["code"]) == (401, "unauthenticated")
        query_update(stack, "UPDATE auth_user SET is_active = %s WHERE username = %s", (True, PLAYER))
        assert command(ws, "resume")["status"] == 202
        # Logging out (in another tab) closes this socket.
        csrf = next(c.value for c in jar if c.name == "csrftoken")
        opener.open(urllib.request.Request(f"{stack.url}/logout/", data=urllib.parse.urlencode(
            {"csrfmiddlewaretoken": csrf}).encode(), headers={"Referer": f"{stack.url}/"}), timeout=10).read()
        closed_with = None
        deadline = time.monotonic() + 15
        while closed_with is None and time.monotonic() < deadline:
            try:
                ws.recv(timeout=1)
            except TimeoutError:
                continue
            except Exception:
                closed_with = ws.close_code
        assert closed_with == 4401


def query_update(stack: Stack, sql: str, params: tuple) -> None:
    if stack.database_url.startswith("sqlite"):
        import sqlite3

        db = sqlite3.connect(stack.database_url.removeprefix("sqlite:///"), timeout=30)
        with db:
            db.execute(sql.replace("%s", "?"), params)
        db.close()
    else:
        import psycopg

        with psycopg.connect(stack.database_url) as db:
            db.execute(sql, params)


def test_verify_chain_reads_one_snapshot_so_a_ticking_world_never_looks_broken(stack):
    """It used to read the heads once and page the events in separate queries: a tick committing in
    between looked like "stream head does not match its last event" on a healthy log."""
    start = stack.head(f"world:{REGION}")
    for _ in range(5):
        result = manage("verify_chain", "--no-progress", env=stack.processes.env, timeout=300)
        assert "every chain intact" in result.stdout
    assert stack.head(f"world:{REGION}") > start  # the world ticked while it was verified


def test_live_delivery_survives_a_redis_restart(stack):
    """Last in the module: it restarts the stack's Redis."""
    stream = f"world:{REGION}"
    received: list[int] = []
    stop = threading.Event()

    def listen():
        with ws_connect(stack.ws_url(stream, stack.head(stream)), origin=stack.url) as ws:
            while not stop.is_set():
                try:
                    message = json.loads(ws.recv(timeout=1))
                except TimeoutError:
                    continue
                if message["type"] == "event":
                    received.append(message["event"]["position"])

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    wait_for(lambda: len(received) > 5, timeout=30, message="live events before the restart")
    stack.redis.stop()
    time.sleep(5)
    restarted_at = len(received)
    stack.redis.start()
    head_after = stack.head(stream)
    # Worker and beat reconnect by themselves and ticks resume; the same socket, never reconnected,
    # goes on receiving, the events of the outage refilled from the store.
    wait_for(lambda: received and received[-1] > head_after + 20, timeout=120,
             message=lambda: f"events after the restart (have up to {received[-1:]}, head was {head_after})\n"
                             f"{stack.processes.report(15)}")
    stop.set()
    listener.join(timeout=10)
    assert received == list(range(received[0], received[-1] + 1)), "a position was lost or repeated"
    assert len(received) > restarted_at

    # A client that connects after the restart hears ticks live (it used to get only silence).
    with ws_connect(stack.ws_url(stream, stack.head(stream)), origin=stack.url) as ws:
        kinds = set()
        deadline = time.monotonic() + 20
        while not {"event", "heartbeat"} <= kinds and time.monotonic() < deadline:
            try:
                kinds.add(json.loads(ws.recv(timeout=2))["type"])
            except TimeoutError:
                continue
        assert {"caught_up", "event", "heartbeat"} <= kinds
