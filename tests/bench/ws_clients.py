"""N WebSocket clients in one process: each waits for `count` events and notes their latency.

Usage: python -m tests.bench.ws_clients URL N COUNT OUT.json — prints "ready" once every client
is connected (and, for /stream, caught up), then writes the latencies (ms) of every delivery.
"""

import asyncio
import json
import sys
import time
from urllib.parse import urlsplit

import websockets


async def client(url: str, count: int, ready: asyncio.Event, latencies: list[float], connected: list[int]):
    # The page's own origin, as a browser sends it (daphne refuses other origins).
    origin = f"http://{urlsplit(url).netloc}"
    async with websockets.connect(url, origin=origin, max_size=None, open_timeout=60) as ws:
        if "/stream" in url:
            while json.loads(await ws.recv())["type"] != "caught_up":
                pass
        connected.append(1)
        ready.set()
        seen = 0
        while seen < count:
            message = json.loads(await ws.recv())
            if message.get("type") != "event":
                continue
            data = message["event"]["data"]
            if "sentAt" in data:
                latencies.append((time.time() - data["sentAt"]) * 1000)
                seen += 1


async def main(url: str, n: int, count: int, out: str) -> None:
    latencies: list[float] = []
    connected: list[int] = []
    ready = asyncio.Event()
    tasks = []
    for _ in range(n):
        tasks.append(asyncio.create_task(client(url, count, ready, latencies, connected)))
        await asyncio.sleep(0.005)  # do not stampede the handshake
    while len(connected) < n:
        await asyncio.sleep(0.05)
    print("ready", flush=True)
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=300)
    with open(out, "w") as fh:
        json.dump(latencies, fh)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
