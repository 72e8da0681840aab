"""Push committed events to the channel layer, one group per stream, and the heartbeats they imply.

Called from `transaction.on_commit`, so nothing reaches a browser before it is durable. A push
that fails is only logged: WebSocket consumers fill any gap from the store. Which heartbeats a
batch of events sends (the game sends one per completed tick, to every client of its region)
is injected: settings.SELFPLAY_STREAM_HEARTBEATS names `heartbeats(events_by_stream) -> [(group,
message)]`, each message `{"type": "stream.heartbeat", "tick", "heads": {stream id: position}}`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from .conf import injected
from .types import RecordedEvent

logger = logging.getLogger(__name__)


def stream_group(stream_id: str) -> str:
    """Return the channel-layer group of a stream (`world:meadow` → `stream.world.meadow`)."""
    return "stream." + stream_id.replace(":", ".")


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
    # Heartbeats after the events: a consumer that hears one and has not seen its head yet knows
    # the layer dropped something (it drops silently when a channel is full) and refills.
    for group, message in injected("SELFPLAY_STREAM_HEARTBEATS")(by_stream):
        await layer.group_send(group, message)
