"""What the live stream transport needs to know about the game's streams (injected into `events`)."""

from __future__ import annotations

from .models import Agent


def region_group(region: str) -> str:
    """Return the group that hears a region's heartbeat, once per tick."""
    return f"region.{region}"


def heartbeat_groups(stream_id: str) -> list[str]:
    """Return the groups whose heartbeats a socket on `stream_id` hears: its region's, once per tick."""
    kind, _, name = stream_id.partition(":")
    if kind == "world":
        return [region_group(name)]
    if kind == "agent":
        region = Agent.objects.filter(id=name).values_list("region_id", flat=True).first()
        return [region_group(region)] if region else []
    return []


def heartbeats(by_stream: dict[str, list[dict]]) -> list[tuple[str, dict]]:
    """Return (group, message) for each tick completed among these wire events, by stream.

    Every client of the region hears it: world-stream clients learn the world head from it,
    agent-stream clients ask the store for their own head.
    """
    beats = []
    for stream_id, wire_events in by_stream.items():
        kind, _, region = stream_id.partition(":")
        if kind != "world":
            continue
        for event in wire_events:
            if event["type"] == "world.tick.completed":
                beats.append((region_group(region), {
                    "type": "stream.heartbeat", "region": region, "tick": event["data"]["tick"],
                    "heads": {stream_id: event["position"]}}))
    return beats
