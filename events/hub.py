"""One channel-layer subscription per group per server process, fanned out to local clients.

With a channel per WebSocket, a tick's message would cross Redis once per client (200 clients,
200 round trips). The hub joins each group once with a channel of its own, receives each message
once, and hands it to every local subscriber's bounded queue. A subscriber whose queue is full
is marked overflowed and its queue cleared instead of growing without bound or stalling the
others; its consumer tells the client and resumes from the store.

Redis restarts, and forgets every group membership when it does (channels-redis also lets
memberships expire after a day). So the hub re-joins all its groups every REFRESH_SECONDS, and
as soon as a receive fails it retries every RETRY_SECONDS until the layer answers again; then
every subscriber is told to refill from the store (`hub.resync`), since whatever was published
while the layer was away is lost to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from dataclasses import dataclass, field

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)
QUEUE_LIMIT = 128
REFRESH_SECONDS = 30.0
RETRY_SECONDS = 1.0
OVERFLOW = {"type": "hub.overflow"}
RESYNC = {"type": "hub.resync"}


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
            self.queue.put_nowait(OVERFLOW)

    def resync(self) -> None:
        """Ask the consumer to refill from the store (after a lost layer): once, ahead of nothing."""
        if not self.overflowed:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)


@dataclass
class _Group:
    channel: str
    task: asyncio.Task
    subscribers: set[Subscription] = field(default_factory=set)


class Hub:
    def __init__(self) -> None:
        self.groups: dict[str, _Group] = {}
        self.lock = asyncio.Lock()
        self.healthy = True
        self._trouble = asyncio.Event()
        self._supervisor: asyncio.Task | None = None

    async def subscribe(self, group: str, subscription: Subscription) -> None:
        async with self.lock:
            if self._supervisor is None or self._supervisor.done():
                self._supervisor = asyncio.create_task(self._supervise())
            entry = self.groups.get(group)
            if entry is None:
                layer = get_channel_layer()
                channel = await layer.new_channel()
                entry = _Group(channel, asyncio.create_task(self._relay(group, channel)))
                self.groups[group] = entry
                try:
                    await layer.group_add(group, channel)
                except Exception:
                    # The store still serves catch-up; the supervisor joins when the layer is back.
                    self._lost("joining " + group)
            entry.subscribers.add(subscription)

    async def unsubscribe(self, group: str, subscription: Subscription) -> None:
        async with self.lock:
            entry = self.groups.get(group)
            if entry is None:
                return
            entry.subscribers.discard(subscription)
            if entry.subscribers:
                return
            del self.groups[group]
            entry.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await entry.task
            try:
                await get_channel_layer().group_discard(group, entry.channel)
            except Exception:
                logger.debug("hub: could not leave %s (the layer forgets it by itself)", group)

    def _lost(self, what: str) -> None:
        if self.healthy:
            logger.warning("hub: the channel layer failed while %s; re-joining every group once it is back", what)
        self.healthy = False
        self._trouble.set()

    async def _relay(self, group: str, channel: str) -> None:
        layer = get_channel_layer()
        while True:
            try:
                message = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._lost(f"receiving for {group}")
                await asyncio.sleep(RETRY_SECONDS)
                continue
            entry = self.groups.get(group)
            if message.get("type") == "stream.events":
                # Every client gets the same frames: encode them once, not once per client.
                message["frames"] = [json.dumps({"type": "event", "event": wire}) for wire in message["events"]]
            for subscription in list(entry.subscribers if entry else ()):
                subscription.offer(message)

    async def _supervise(self) -> None:
        """Re-join every group now and then, and at once after a failure until it works."""
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._trouble.wait(), REFRESH_SECONDS)
            self._trouble.clear()
            if not self.healthy:
                await asyncio.sleep(RETRY_SECONDS)
            try:
                await self._rejoin_all()
            except Exception:
                self._lost("re-joining groups")
                continue
            if not self.healthy:
                self.healthy = True
                logger.warning("hub: the channel layer is back; %d groups re-joined, clients refill from the store",
                               len(self.groups))
                for entry in list(self.groups.values()):
                    for subscription in list(entry.subscribers):
                        subscription.resync()

    async def _rejoin_all(self) -> None:
        layer = get_channel_layer()
        for group, entry in list(self.groups.items()):
            await layer.group_add(group, entry.channel)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """Return this event loop's hub (daphne runs one loop; tests may run several)."""
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = Hub()
    return _hubs[loop]
