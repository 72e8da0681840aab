"""Reads about the living world: a region's cadence, lag and counts (see selfplay.web.overview
for the operator's whole overview), where each tick lies in its world stream, and an agent's
outcomes, for the pages that show the past."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from django.db.models import Count, Q

from events.models import Event
from events.projections import load_state
from events.store import RecordedEvent, read_stream_backwards, stream_version
from selfplay.errors import Refused
from selfplay.world import FAILED, SUCCEEDED

from .models import Agent, Region
from .services import due_tick


def region_status(region: Region, *, now: datetime) -> dict:
    last_tick = load_state("world", region.id, shared=True)[0]["tick"]  # decoded once per process
    last_completed = (Event.objects.filter(stream_id=region.stream_id, type="world.tick.completed")
                      .order_by("-position").values_list("recorded_at", flat=True).first())
    counts = Agent.objects.filter(region=region).aggregate(
        total=Count("id"), active=Count("id", filter=Q(status=Agent.Status.ACTIVE)))
    due = due_tick(region, now)
    return {
        "region": region.id,
        "lastTick": last_tick,
        "dueTick": due,
        "lagTicks": max(0, due - last_tick),
        "cadenceSeconds": region.tick_seconds,
        "lastTickAt": last_completed.isoformat() if last_completed else None,
        "agents": counts["total"],
        "activeAgents": counts["active"],
    }


# --- the past: ticks and outcomes ------------------------------------------------------------

TICK_COMPLETED = "world.tick.completed"
TICKS_SKIPPED = "world.ticks.skipped"
TICK_MARKERS = (TICK_COMPLETED, TICKS_SKIPPED)
# At most this many positions of a world stream are scanned for one page of an agent's outcomes:
# the work of one anonymous request stays bounded however rarely the agent appears.
OUTCOME_SCAN_POSITIONS = 20_000
MAX_OUTCOME_LIMIT = 2000


@dataclass(frozen=True)
class TickMark:
    """Where tick `tick` of a region ends in its world stream.

    `position` is the event after which the world stood at that tick: its `world.tick.completed`
    (whose `checksum` is that of the world state there), or the `world.ticks.skipped` that
    covers it (`skipped` = (fromTick, toTick); the world slept and `checksum` is None).
    """

    region: str
    tick: int
    position: int
    global_position: int
    checksum: str | None
    skipped: tuple[int, int] | None
    first_tick: int
    last_tick: int

    @property
    def stream_id(self) -> str:
        return f"world:{self.region}"


def _marker_from(stream_id: str, position: int, *, backwards: bool = False):
    """Return (position, global position, type, data) of the first tick marker at or after
    `position` (the last one at or before it when `backwards`), or None."""
    rows = Event.objects.filter(stream_id=stream_id, type__in=TICK_MARKERS)
    if backwards:
        rows = rows.filter(position__lte=position).order_by("-position")
    else:
        rows = rows.filter(position__gte=position).order_by("position")
    return rows.values_list("position", "global_position", "type", "data").first()


def _ticks_of(marker) -> tuple[int, int]:
    """Return the (first, last) tick a marker closes."""
    _, _, kind, data = marker
    if kind == TICK_COMPLETED:
        return data["tick"], data["tick"]
    return data["fromTick"], data["toTick"]


def tick_range(*, region_id: str, head: int | None = None) -> tuple[int, int] | None:
    """Return the (first, last) tick recorded in a region's world stream, or None before its first."""
    stream_id = f"world:{region_id}"
    head = stream_version(stream_id) if head is None else head
    first = _marker_from(stream_id, 1)
    if first is None:
        return None
    return _ticks_of(first)[0], _ticks_of(_marker_from(stream_id, head, backwards=True))[1]


def tick_mark(*, region_id: str, tick: int) -> TickMark:
    """Return where tick `tick` of a region lies in its world stream; raise Refused("not_found").

    Tick markers (`world.tick.completed`, `world.ticks.skipped`) follow each other in tick order,
    so a binary search over positions finds one with about log2(head) small indexed reads,
    however long the stream.
    """
    stream_id = f"world:{region_id}"
    head = stream_version(stream_id) if Region.objects.filter(id=region_id).exists() else 0
    if head == 0:
        raise Refused("not_found", f"There is no region {region_id}.", {"region": region_id})
    first_tick, last_tick = tick_range(region_id=region_id, head=head) or (None, None)
    bounds = {"tick": tick, "firstTick": first_tick, "lastTick": last_tick}
    if first_tick is None or not first_tick <= tick <= last_tick:
        raise Refused("not_found", f"Region {region_id} has no tick {tick}"
                      + (f" (its ticks are {first_tick}..{last_tick})." if first_tick is not None else " yet."),
                      {"region": region_id, **bounds})
    low, high = 1, head + 1
    while low < high:  # the first position whose next marker closes `tick` or a later one
        middle = (low + high) // 2
        marker = _marker_from(stream_id, middle)
        if marker is None or _ticks_of(marker)[1] >= tick:
            high = middle
        else:
            low = marker[0] + 1
    marker = _marker_from(stream_id, low)
    position, global_position, kind, data = marker
    from_tick, to_tick = _ticks_of(marker)
    if from_tick > tick:  # only in a log whose markers skip a tick without saying so
        raise Refused("not_found", f"Region {region_id} has no record of tick {tick}.",
                      {"region": region_id, **bounds})
    return TickMark(region=region_id, tick=tick, position=position, global_position=global_position,
                    checksum=data.get("checksum") if kind == TICK_COMPLETED else None,
                    skipped=(from_tick, to_tick) if kind == TICKS_SKIPPED else None,
                    first_tick=bounds["firstTick"], last_tick=bounds["lastTick"])


@dataclass(frozen=True)
class OutcomesPage:
    """An agent's outcomes in its world stream before `before`, oldest first.

    `events`: the agent's own outcomes, the outcomes of others that gave it something
    (`effects.transfer.to`), and its `agent.spawned`. The next page is `before=next_before`;
    `complete` once the agent's arrival (or the stream's start) was reached.
    """

    agent_id: str
    region: str
    events: list[RecordedEvent]
    next_before: int
    head_position: int
    complete: bool

    @property
    def stream_id(self) -> str:
        return f"world:{self.region}"


def _concerns(data: dict, agent_id: str) -> bool:
    """Whether an outcome is the agent's own, or a transfer to it."""
    if data.get("agentId") == agent_id:
        return True
    effects = data.get("effects")
    transfer = effects.get("transfer") if isinstance(effects, dict) else None
    return isinstance(transfer, dict) and transfer.get("to") == agent_id


def agent_outcomes(*, region_id: str, agent_id: str, before: int | None = None, limit: int = 500) -> OutcomesPage:
    """Return a page of an agent's outcomes, newest page first; raise Refused("not_found").

    At most OUTCOME_SCAN_POSITIONS positions below `before` are looked at; a page may hold
    fewer than `limit` events without being the last one.
    """
    if not 1 <= limit <= MAX_OUTCOME_LIMIT:
        raise Refused("invalid", f"limit must be between 1 and {MAX_OUTCOME_LIMIT}.", {"limit": limit})
    if not Agent.objects.filter(id=agent_id, region_id=region_id).exists():
        raise Refused("not_found", f"Region {region_id} has no agent {agent_id}.",
                      {"region": region_id, "agentId": agent_id})
    stream_id = f"world:{region_id}"
    head = stream_version(stream_id)
    before = head + 1 if before is None else min(before, head + 1)
    floor = max(1, before - OUTCOME_SCAN_POSITIONS)
    pages = read_stream_backwards(stream_id, below=before, floor=floor, types=(SUCCEEDED, FAILED, "agent.spawned"))
    # Matched here, not in SQL: data is stored compact on SQLite (events.compact).
    events = list(islice((e for page in pages for e in page if _concerns(e.data, agent_id)), limit))
    events.reverse()
    arrived = any(e.type == "agent.spawned" and e.data.get("agentId") == agent_id for e in events)
    next_before = events[0].position if len(events) == limit else floor
    return OutcomesPage(agent_id=agent_id, region=region_id, events=events, next_before=next_before,
                        head_position=head, complete=arrived or next_before <= 1)
