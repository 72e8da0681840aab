"""One channel-layer subscription per group per server process, fanned out to local clients.

With a channel per WebSocket, a tick's message would cross Redis once per client (200 clients,
200 round trips). The hub joins each group once with a channel of its own, receives each message
once, and hands it to every local subscriber's bounded queue. A subscriber whose queue is full
is marked overflowed and its queue cleared instead of growing without bound or stalling the
others; its consumer tells the client and resumes from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)
QUEUE_LIMIT = 256


@dataclass(eq=False)
class Subscription:
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=QUEUE_LIMIT))
    overflowed: bool = False

    def offer(self, message: dict) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait({"type": "hub.overflow"})


@dataclass
class _Group:
    channel: str
    task: asyncio.Task
    subscribers: set[Subscription] = field(default_factory=set)


class Hub:
    def __init__(self) -> None:
        self.groups: dict[str, _Group] = {}
        self.lock = asyncio.Lock()

    async def subscribe(self, group: str, subscription: Subscription) -> None:
        async with self.lock:
            entry = self.groups.get(group)
            if entry is None:
                layer = get_channel_layer()
                channel = await layer.new_channel()
                await layer.group_add(group, channel)
                entry = _Group(channel, asyncio.create_task(self._relay(group, channel)))
                self.groups[group] = entry
            entry.subscribers.add(subscription)

    async def unsubscribe(self, group: str, subscription: Subscription) -> None:
        async with self.lock:
            entry = self.groups.get(group)
            if entry is None:
                return
            entry.subscribers.discard(subscription)
            if not entry.subscribers:
                del self.groups[group]
                entry.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await entry.task
                await get_channel_layer().group_discard(group, entry.channel)

    async def _relay(self, group: str, channel: str) -> None:
        layer = get_channel_layer()
        while True:
            try:
                message = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("hub: receiving for %s failed; retrying", group, exc_info=True)
                await asyncio.sleep(0.5)
                continue
            entry = self.groups.get(group)
            if message.get("type") == "stream.events":
                # Every client gets the same frames: encode them once, not once per client.
                message["frames"] = [json.dumps({"type": "event", "event": wire}) for wire in message["events"]]
            for subscription in list(entry.subscribers if entry else ()):
                subscription.offer(message)


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def hub() -> Hub:
    """Return this event loop's hub (daphne runs one loop; tests may run several)."""
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = Hub()
    return _hubs[loop]
