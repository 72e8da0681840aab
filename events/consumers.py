"""`WS /stream` (DESIGN §6): a stream's events, gap-free, from a position on.

The consumer catches up from the store, then relays live messages (received once per server
process by `events.hub` and handed to each client's bounded queue), de-duplicated by position.
The layer may drop messages (it does so silently when a channel is full, and loses them while
Redis restarts), so any jump in positions, a heartbeat showing a head beyond what was delivered,
or the hub's word that the layer was away, is filled from the store before anything newer is
sent: positions reach the client strictly increasing, with no gap.

Everything a client can make the server hold is bounded: the catch-up and the relay run in one
task that waits while the client's transport is full (`events.flow`) and stops when the client
leaves; its live queue is bounded (`events.hub`); one address may hold at most
SELFPLAY_WS_MAX_CONNECTIONS_PER_CLIENT sockets per server process. What a client sends is bounded
too: daphne queues every frame it reads for the consumer without limit, so the consumer answers
each message without waiting for the client to read, and closes a socket that sends more than
SELFPLAY_WS_MESSAGES_PER_SECOND (bursts of SELFPLAY_WS_MESSAGE_BURST) or sends while its
transport is full.

This module knows no game. What a `command` message does and which heartbeat groups a stream
follows are injected by dotted path (SELFPLAY_STREAM_COMMAND_HANDLER, SELFPLAY_STREAM_HEARTBEAT_GROUPS).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections import Counter
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from selfplay.errors import error_body

from .conf import injected
from .flow import flow_of
from .hub import OVERFLOW, RESYNC, Subscription, hub
from .publish import stream_group
from .selectors import read_stream, stream_version
from .types import STREAM_ID_RE

logger = logging.getLogger(__name__)
PAGE = 200  # events read per catch-up page: what a paused socket holds decoded
MAX_MESSAGE_CHARS = 64 * 1024
CLOSE_INVALID = 4400
CLOSE_LOGGED_OUT = 4401
CLOSE_TOO_MANY = 4429

# Open sockets per client address in this process (daphne runs one event loop).
_connections: Counter[str] = Counter()


class MessageBudget:
    """A token bucket: `rate` messages a second on average, at most `burst` at once."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.at = float(burst), clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def error_message(code: str, message: str, details: dict | None = None) -> dict:
    return {"type": "error", **error_body(code, message, details)}


def session_group(session_key: str) -> str:
    """Return the group that reaches every socket of one login session (to close them at logout)."""
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


class StreamConsumer(AsyncJsonWebsocketConsumer):
    # No channel of its own: the hub subscribes once per process. A consumer-level channel would
    # also make every socket die with the channel layer (a Redis restart) instead of riding it out.
    channel_layer_alias = None

    stream_id: str = ""
    delivered: int = 0
    client_address: str | None = None
    subscription: Subscription | None = None
    pump: asyncio.Task | None = None
    closing: bool = False

    async def connect(self):
        self.groups_joined: list[str] = []
        self.flow = flow_of(self.scope)
        self.budget = MessageBudget(settings.SELFPLAY_WS_MESSAGES_PER_SECOND, settings.SELFPLAY_WS_MESSAGE_BURST)
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        stream_id = (query.get("streamId") or [""])[0]
        raw_from = (query.get("from") or ["0"])[0]
        await self.accept()
        if not self._claim_slot():
            await self._refuse(CLOSE_TOO_MANY, "rate_limited", "Too many open streams from this address.",
                               {"limit": settings.SELFPLAY_WS_MAX_CONNECTIONS_PER_CLIENT})
            return
        if not STREAM_ID_RE.match(stream_id):
            await self._refuse(CLOSE_INVALID, "invalid", "streamId must be <kind>:<name>, e.g. world:meadow.",
                               {"streamId": stream_id[:100]})
            return
        head = await database_sync_to_async(stream_version)(stream_id)
        start = int(raw_from) if raw_from.isascii() and raw_from.isdigit() and len(raw_from) < 20 else -1
        if not 0 <= start <= head:
            await self._refuse(CLOSE_INVALID, "invalid", f"from must be a position between 0 and the "
                               f"stream's head ({head}).", {"from": raw_from[:40], "headPosition": head})
            return
        self.stream_id, self.delivered = stream_id, start
        # Subscribe first, then catch up: whatever commits meanwhile arrives live and is
        # de-duplicated by position.
        self.subscription = Subscription()
        groups = [stream_group(stream_id), *await database_sync_to_async(self._heartbeat_groups)()]
        session_key = getattr(self.scope.get("session"), "session_key", None)
        if session_key:
            groups.append(session_group(session_key))
        for group in groups:
            await hub().subscribe(group, self.subscription)
            self.groups_joined.append(group)
        self.pump = asyncio.create_task(self._pump())

    async def disconnect(self, code):
        try:
            if self.pump is not None:
                self.pump.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self.pump
        finally:
            for group in getattr(self, "groups_joined", []):
                await hub().unsubscribe(group, self.subscription)
            self._release_slot()

    def _claim_slot(self) -> bool:
        client = self.scope.get("client")
        address = client[0] if client else None
        if address is not None and _connections[address] >= settings.SELFPLAY_WS_MAX_CONNECTIONS_PER_CLIENT:
            return False
        self.client_address = address
        if address is not None:
            _connections[address] += 1
        return True

    def _release_slot(self) -> None:
        address, self.client_address = self.client_address, None
        if address is not None:
            _connections[address] -= 1
            if _connections[address] <= 0:
                del _connections[address]

    async def _refuse(self, close_code: int, code: str, message: str, details: dict) -> None:
        await self.send_json(error_message(code, message, details))
        await self.close(code=close_code)

    def _heartbeat_groups(self) -> list[str]:
        return list(injected("SELFPLAY_STREAM_HEARTBEAT_GROUPS")(self.stream_id))

    # --- sending, one frame at a time ---------------------------------------------------

    # Every frame waits while the client's transport is full: a client that does not read holds
    # at most the transport's buffer, never the stream. (send_json reaches the base class's send
    # directly, so both are covered.)
    async def send(self, text_data=None, bytes_data=None, close=False):
        await self.flow.writable()
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def send_json(self, content, close=False):
        await self.flow.writable()
        await super().send_json(content, close=close)

    async def _pump(self) -> None:
        """Catch up from the store, then deliver the hub's messages in order, until the client goes."""
        try:
            await self.fill_from_store()
            await self.send_json({"type": "caught_up", "position": self.delivered})
            while not self.flow.stopped:
                message = await self.subscription.queue.get()
                kind = message["type"]
                if kind == OVERFLOW["type"]:
                    await self._recover_from_overflow()
                elif kind == RESYNC["type"]:
                    await self.fill_from_store()
                elif kind == "stream.events":
                    await self.stream_events(message)
                elif kind == "stream.heartbeat":
                    await self.stream_heartbeat(message)
                elif kind == "stream.close":
                    await self._refuse(CLOSE_LOGGED_OUT, "unauthenticated", "The session ended; log in again.", {})
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("stream %s: delivery failed; closing", self.stream_id)
            await self.close(code=1011)

    async def _recover_from_overflow(self) -> None:
        self.subscription.overflowed = False
        await self.send_json(error_message(
            "overflow", "This connection fell behind and live messages were dropped; resuming from the store.",
            {"delivered": self.delivered}))
        await self.fill_from_store()

    async def fill_from_store(self, until: int | None = None) -> None:
        """Send the stream's events after `delivered` (up to `until`) from the store."""
        while until is None or self.delivered < until:
            if self.flow.stopped:
                return
            page = await database_sync_to_async(read_stream)(self.stream_id, after=self.delivered, limit=PAGE)
            if not page:
                return
            for event in page:
                if until is not None and event.position > until:
                    return
                await self._deliver(event.to_wire())

    async def _deliver(self, wire: dict, frame: str | None = None) -> None:
        if frame is None:
            await self.send_json({"type": "event", "event": wire})
        else:
            await self.send(text_data=frame)
        self.delivered = wire["position"]

    async def stream_events(self, message):
        frames = message.get("frames") or [None] * len(message["events"])
        for wire, frame in zip(message["events"], frames, strict=True):
            position = wire["position"]
            if position <= self.delivered:
                continue
            if position > self.delivered + 1:
                await self.fill_from_store(until=position - 1)
            if position == self.delivered + 1:
                await self._deliver(wire, frame)

    async def stream_heartbeat(self, message):
        head = (message.get("heads") or {}).get(self.stream_id)
        if head is None:
            head = await database_sync_to_async(stream_version)(self.stream_id)
        if head > self.delivered:
            await self.send_json(error_message(
                "lagging", "Live messages were missed; resuming from the store.",
                {"delivered": self.delivered, "headPosition": head}))
            await self.fill_from_store(until=head)
        await self.send_json({"type": "heartbeat", "tick": message["tick"], "headPosition": head})

    # --- messages from the client ------------------------------------------------------

    # Until the consumer takes a frame, daphne holds it, with no limit; so nothing below waits for
    # the client to read (replies skip `flow`), and a socket that sends faster than its budget, or
    # sends while it leaves what it was sent unread, is closed rather than read on.
    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if self.closing:
            return  # what daphne still hands over after the close is dropped unread
        if not self.budget.take():
            await self._close_now("Too many messages on this socket.", {
                "messagesPerSecond": settings.SELFPLAY_WS_MESSAGES_PER_SECOND,
                "burst": settings.SELFPLAY_WS_MESSAGE_BURST})
            return
        if self.flow.paused:
            await self._close_now("Read the messages already sent before sending more.", {})
            return
        if text_data is None:
            await self._reply(error_message("invalid", "Send JSON text frames, not binary ones."))
            return
        if len(text_data) > MAX_MESSAGE_CHARS:
            await self._reply(error_message("invalid", f"A message is at most {MAX_MESSAGE_CHARS} characters."))
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):
            await self._reply(error_message("invalid", "A message must be one JSON object."))
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict) or content.get("type") != "command":
            await self._reply(error_message("invalid", "Send {\"type\": \"command\", …} messages only."))
            return
        body = {k: v for k, v in content.items() if k != "type"}
        try:
            status, answer = await database_sync_to_async(injected("SELFPLAY_STREAM_COMMAND_HANDLER"))(
                self.scope, body)
        except Exception:
            logger.exception("stream %s: a command failed", self.stream_id)
            status, answer = 503, error_message("unavailable", "The command could not be handled; try again.")
            answer.pop("type")
        await self._reply({"type": "command.result", "status": status, **answer})

    async def _reply(self, content: dict) -> None:
        """Send one answer to the client's message at once, even into a full transport: at most
        one small frame per message the budget let through."""
        await super().send_json(content)

    async def _close_now(self, message: str, details: dict) -> None:
        self.closing = True
        self.flow.stop_reading()
        if self.pump is not None:
            self.pump.cancel()  # nothing more goes out but this answer and the close
        await self._reply(error_message("rate_limited", message, details))
        await self.close(code=CLOSE_TOO_MANY)
