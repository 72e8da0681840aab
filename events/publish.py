"""Push committed events to the channel layer, one group per stream.

Called from `transaction.on_commit`, so nothing reaches a browser before it is durable. A push
that fails is only logged: WebSocket consumers fill any gap from the store.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from .types import RecordedEvent

logger = logging.getLogger(__name__)


def stream_group(stream_id: str) -> str:
    """Return the channel-layer group of a stream (`world:meadow` → `stream.world.meadow`)."""
    return "stream." + stream_id.replace(":", ".")


def region_group(region: str) -> str:
    """Return the group that hears a region's heartbeat, once per tick."""
    return f"region.{region}"


def publish(events: Sequence[RecordedEvent]) -> None:
    if not settings.SELFPLAY_PUBLISH_EVENTS or not events:
        return
    layer = get_channel_layer()
    if layer is None:
        return
    by_stream: dict[str, list[dict]] = {}
    for event in events:
        by_stream.setdefault(event.stream_id, []).append(event.to_wire())
    try:
        async_to_sync(_send_all)(layer, by_stream)
    except Exception:  # the log is already committed; consumers recover from the store
        logger.warning("could not publish %d events to the channel layer", len(events), exc_info=True)


async def _send_all(layer, by_stream: dict[str, list[dict]]) -> None:
    for stream_id, wire_events in by_stream.items():
        await layer.group_send(stream_group(stream_id), {"type": "stream.events", "events": wire_events})
    # A heartbeat per completed tick lets every consumer of the region notice messages the
    # layer dropped (it drops silently when a channel is full) and refill from the store.
    for stream_id, wire_events in by_stream.items():
        kind, _, region = stream_id.partition(":")
        for event in wire_events:
            if kind == "world" and event["type"] == "world.tick.completed":
                await layer.group_send(region_group(region), {
                    "type": "stream.heartbeat", "region": region, "tick": event["data"]["tick"],
                    "worldHead": event["position"]})
