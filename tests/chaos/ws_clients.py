"""WebSocket clients for the chaos run: 20 that keep reconnecting, and one slow reader.

Usage: python -m tests.chaos.ws_clients WS_BASE STREAM_ID TICK_SECONDS STATUS.json

Each fast client follows STREAM_ID from position 0 and reconnects with `from=<last seen>`
whenever its socket closes, when it has heard nothing (not even a heartbeat) for 3 tick
intervals, and of its own accord every 5–30 s. The slow client reads one message a second and
reconnects only when its socket closes. Every client checks what it is given: positions must
come strictly one after another, each exactly once. STATUS.json is rewritten every second.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field

import websockets

FAST_CLIENTS = 20


@dataclass
class Client:
    name: str
    last: int = 0               # the highest position held; every one below it exactly once
    received: int = 0           # events received
    duplicates: int = 0         # positions received again
    gaps: list = field(default_factory=list)  # (expected, got) of the first few jumps
    connects: int = 0
    reconnects: dict = field(default_factory=lambda: {"closed": 0, "silent": 0, "voluntary": 0, "failed": 0})
    live: int = 0               # events received after the connection's caught_up
    last_live_at: float = 0.0
    last_message_at: float = 0.0
    errors: list = field(default_factory=list)

    def take(self, event: dict, live: bool) -> None:
        position = event["position"]
        self.received += 1
        if position <= self.last:
            self.duplicates += 1
            return
        if position != self.last + 1 and len(self.gaps) < 20:
            self.gaps.append((self.last + 1, position))
        self.last = position
        if live:
            self.live += 1
            self.last_live_at = time.time()


async def follow(client: Client, base: str, stream: str, silence: float, *, slow: bool) -> None:
    rng = random.Random(client.name)
    origin = "http://" + base.split("://", 1)[1].split("/", 1)[0]
    while True:
        url = f"{base}/stream?streamId={stream}&from={client.last}"
        try:
            async with websockets.connect(url, origin=origin, max_size=None, open_timeout=10,
                                          ping_interval=None if slow else 20) as ws:
                client.connects += 1
                caught_up = False
                leave_at = time.monotonic() + rng.uniform(5, 30)
                while True:
                    timeout = silence if slow else min(silence, max(0.01, leave_at - time.monotonic()))
                    try:
                        text = await asyncio.wait_for(ws.recv(), timeout=None if slow else timeout)
                    except TimeoutError:
                        kind = "voluntary" if time.monotonic() >= leave_at else "silent"
                        client.reconnects[kind] += 1
                        break
                    client.last_message_at = time.time()
                    message = json.loads(text)
                    if message["type"] == "event":
                        client.take(message["event"], live=caught_up)
                    elif message["type"] == "caught_up":
                        caught_up = True
                    elif message["type"] == "error" and len(client.errors) < 20:
                        client.errors.append(message["error"])
                    if slow:
                        await asyncio.sleep(1)
        except websockets.ConnectionClosed:
            client.reconnects["closed"] += 1
        except (OSError, TimeoutError, websockets.WebSocketException):
            client.reconnects["failed"] += 1  # could not connect: the server is down or refused
            await asyncio.sleep(0.5)
        except Exception as exc:  # a malformed message: note it and start over
            if len(client.errors) < 20:
                client.errors.append(repr(exc)[:200])
            await asyncio.sleep(0.5)


async def main(base: str, stream: str, tick_seconds: float, status_path: str) -> None:
    clients = [Client(f"c{i:02d}") for i in range(FAST_CLIENTS)]
    slow = Client("slow")
    silence = 3 * tick_seconds
    for client in clients:
        asyncio.create_task(follow(client, base, stream, silence, slow=False))
        await asyncio.sleep(0.05)
    asyncio.create_task(follow(slow, base, stream, silence, slow=True))
    while True:
        tmp = status_path + ".tmp"
        with open(tmp, "w") as fh:
            json.dump({"updatedAt": time.time(), "clients": {c.name: asdict(c) for c in clients},
                       "slow": asdict(slow)}, fh)
        os.replace(tmp, status_path)
        await asyncio.sleep(1)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]))
