"""The baseline broadcaster: a bare `websockets` server relaying a Redis pub/sub channel.

Usage: python -m tests.bench.ws_baseline_server PORT REDIS_URL CHANNEL
"""

import asyncio
import sys

import redis.asyncio as redis
import websockets

CLIENTS: set = set()


async def handler(ws):
    CLIENTS.add(ws)
    try:
        await ws.wait_closed()
    finally:
        CLIENTS.discard(ws)


async def relay(url: str, channel: str) -> None:
    pubsub = redis.Redis.from_url(url).pubsub()
    await pubsub.subscribe(channel)
    async for message in pubsub.listen():
        if message["type"] == "message":
            websockets.broadcast(CLIENTS, message["data"].decode())


async def main(port: int, url: str, channel: str) -> None:
    async with websockets.serve(handler, "127.0.0.1", port, max_size=None):
        print("listening", flush=True)
        await relay(url, channel)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
