"""`WS /stream` (DESIGN §6): a stream's events, gap-free, from a position on.

The consumer catches up from the store, then relays live messages (received once per server
process by `events.hub` and handed to each client's bounded queue), de-duplicated by position. The layer may drop messages (it does so silently when a channel is
full), so any jump in positions, or a heartbeat showing a head beyond what was delivered, is
filled from the store before anything newer is sent: positions reach the client strictly
increasing, with no gap.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .hub import Subscription, hub
from .publish import region_group, stream_group
from .selectors import read_stream, stream_version
from .types import STREAM_ID_RE

logger = logging.getLogger(__name__)
PAGE = 500


def error_message(code: str, message: str, details: dict | None = None) -> dict:
    return {"type": "error", "error": {"code": code, "message": message, "details": details or {}}}


class StreamConsumer(AsyncJsonWebsocketConsumer):
    stream_id: str = ""
    delivered: int = 0
    groups_joined: list[str]
    subscription: Subscription | None = None
    pump: asyncio.Task | None = None

    async def connect(self):
        self.groups_joined = []
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        stream_id = (query.get("streamId") or [""])[0]
        raw_from = (query.get("from") or ["0"])[0]
        await self.accept()
        if not STREAM_ID_RE.match(stream_id):
            await self.send_json(error_message("invalid", "streamId must be <kind>:<name>, e.g. world:meadow.",
                                               {"streamId": stream_id}))
            await self.close(code=4400)
            return
        try:
            start = int(raw_from)
            if start < 0:
                raise ValueError
        except ValueError:
            await self.send_json(error_message("invalid", "from must be a position >= 0.", {"from": raw_from}))
            await self.close(code=4400)
            return
        self.stream_id, self.delivered = stream_id, start
        # Subscribe first, then catch up: whatever commits meanwhile arrives live and is
        # de-duplicated by position.
        self.subscription = Subscription()
        for group in [stream_group(stream_id), *(await self._heartbeat_groups())]:
            await hub().subscribe(group, self.subscription)
            self.groups_joined.append(group)
        await self.fill_from_store()
        await self.send_json({"type": "caught_up", "position": self.delivered})
        self.pump = asyncio.create_task(self._pump())

    async def disconnect(self, code):
        if self.pump is not None:
            self.pump.cancel()
        for group in getattr(self, "groups_joined", []):
            await hub().unsubscribe(group, self.subscription)

    async def _pump(self) -> None:
        """Deliver the hub's messages for this client, one at a time, in order."""
        try:
            while True:
                message = await self.subscription.queue.get()
                if message["type"] == "hub.overflow":
                    await self._recover_from_overflow()
                elif message["type"] == "stream.events":
                    await self.stream_events(message)
                elif message["type"] == "stream.heartbeat":
                    await self.stream_heartbeat(message)
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

    @database_sync_to_async
    def _heartbeat_groups(self) -> list[str]:
        kind, _, name = self.stream_id.partition(":")
        if kind == "world":
            return [region_group(name)]
        if kind == "agent":
            from agents.models import Agent

            region = Agent.objects.filter(id=name).values_list("region_id", flat=True).first()
            return [region_group(region)] if region else []
        return []

    async def fill_from_store(self, until: int | None = None) -> None:
        """Send the stream's events after `delivered` (up to `until`) from the store."""
        while until is None or self.delivered < until:
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

    # --- channel layer messages -------------------------------------------------------

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
        if self.stream_id.startswith("world:"):
            head = message["worldHead"]
        else:
            head = await database_sync_to_async(stream_version)(self.stream_id)
        if head > self.delivered:
            await self.send_json(error_message(
                "lagging", "Live messages were missed; resuming from the store.",
                {"delivered": self.delivered, "headPosition": head}))
            await self.fill_from_store(until=head)
        await self.send_json({"type": "heartbeat", "tick": message["tick"], "headPosition": head})

    # --- commands from the client ------------------------------------------------------

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict) or content.get("type") != "command":
            await self.send_json(error_message("invalid", "Send {\"type\": \"command\", …} messages only."))
            return
        status, body = await self._command(content)
        await self.send_json({"type": "command.result", "status": status, **body})

    @database_sync_to_async
    def _command(self, content: dict) -> tuple[int, dict]:
        from agents.api import command_from_body
        from agents.commands import CommandRefused, submit_command

        user = self.scope.get("user")
        try:
            command = command_from_body({k: v for k, v in content.items() if k != "type"})
            return 202, submit_command(principal=user, command=command)
        except CommandRefused as refused:
            return refused.status, {"error": {"code": refused.code, "message": refused.message,
                                              "details": refused.details}}

    async def decode_json(self, text_data):
        import json

        try:
            return json.loads(text_data)
        except ValueError:
            return None
