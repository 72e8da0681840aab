"""The operator's overview of the world (`selfplay_status`, the admin dashboard, the world page).

It combines what several apps know: regions and cadence (agents), continuity, flags and
playerhood (verification), checkpoints (checkpoints), the log's size (events). One selector,
`world_status`, serves every place that shows it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import redis
from django.conf import settings

from agents.capabilities import registry as capability_registry
from agents.models import Agent, Region
from agents.routing import task_queues
from agents.selectors import region_status
from checkpoints.models import Checkpoint
from events import partitions
from events.models import Event, Stream
from events.selectors import head_global_position, projection_row, readable_global_position
from selfplay import redis_client
from verification import selectors as verification
from verification.analysis import percentile

STALLED_AFTER_TICKS = 3  # a region this many ticks behind its schedule is not ticking


def region_health(region: Region, *, now: datetime) -> dict:
    """Return a region's status and whether it is stalled (cheap: for every page that watches it)."""
    status = region_status(region, now=now)
    return {**status, "stalled": status["lagTicks"] >= STALLED_AFTER_TICKS}


def region_overview(region: Region, *, now: datetime) -> dict:
    """Return a region's health, ticks per minute and continuity (lateness, recoveries, skips)."""
    completions = verification.recent_completions(region)
    return {**region_health(region, now=now),
            "ticksPerMinute": verification.ticks_per_minute(completions, now=now),
            "continuity": verification.region_continuity(region, completions)}


def broker_status() -> dict:
    """Whether the Celery broker answers (the daemon cannot tick without it)."""
    try:
        reachable = bool(redis_client.client_for(settings.CELERY_BROKER_URL).ping())
    except redis.RedisError:
        reachable = False
    return {"reachable": reachable}


# kombu's Redis transport keeps a queue as a list named after it, one more list per priority
# step ("<queue>\x06\x16<n>"), and every message handed to a worker but not yet acknowledged
# (running, or held until its ETA) in the hash "unacked".
KOMBU_PRIORITY_SEPARATOR = "\x06\x16"
KOMBU_PRIORITY_STEPS = (3, 6, 9)
KOMBU_UNACKED = "unacked"


def queue_depths() -> dict:
    """Return the messages waiting in each of Selfplay's Celery queues (LLEN of the broker's lists,
    all priorities) and how many workers hold unacknowledged; None for each when the broker is away."""
    queues = task_queues()
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    try:
        with redis_client.client_for(settings.CELERY_BROKER_URL).pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.llen(prefix + queue)
                for step in KOMBU_PRIORITY_STEPS:
                    pipe.llen(f"{prefix}{queue}{KOMBU_PRIORITY_SEPARATOR}{step}")
            pipe.hlen(prefix + KOMBU_UNACKED)
            counts = pipe.execute()
    except redis_client.ERRORS:
        return {"queues": {queue: None for queue in queues}, "unacked": None}
    per_queue = len(KOMBU_PRIORITY_STEPS) + 1
    return {"queues": {queue: sum(counts[i * per_queue:(i + 1) * per_queue]) for i, queue in enumerate(queues)},
            "unacked": counts[-1]}


def follower_lag(head: int) -> list[dict]:
    """Return each log follower's cursor and how many global positions it trails the head by.

    Projections need no such line: `record` folds them in the transaction that appends."""
    return [{**cursor, "lagEvents": max(0, head - cursor["position"])}
            for cursor in verification.follower_positions()]


def warnings_of(status: dict) -> list[str]:
    """Return what an operator must hear about at once: a stalled region, an unreachable broker."""
    found = []
    if not status["broker"]["reachable"]:
        found.append("The broker (Redis) does not answer: nothing ticks until it is back.")
    for region in status["regions"]:
        if region["stalled"]:
            last = f"last tick {region['lastTick']} at {region['lastTickAt']}" if region["lastTickAt"] else "no tick yet"
            found.append(f"Region {region['region']} is stalled: {region['lagTicks']} ticks behind ({last}).")
    kept = status.get("eventPartitions")  # the world status has it; a region's health does not
    if kept and kept["partitioned"] and kept["emptyAhead"] == 0:
        found.append("No empty partition of the event log is left ahead of its head: appends fail once it "
                     "fills; run `manage.py event_partitions --ensure` and check that beat runs.")
    return found


def world_status(*, now: datetime) -> dict:
    """Return the operator's overview: regions, agents, streams, events, checkpoints, flags, health."""
    head = head_global_position()
    status = {
        "now": now.isoformat(),
        "broker": broker_status(),
        "queues": queue_depths(),
        "regions": [region_overview(region, now=now) for region in Region.objects.all()],
        "agents": Agent.objects.count(),
        "streams": Stream.objects.count(),
        "events": Event.objects.count(),
        "headGlobalPosition": head,
        "followers": follower_lag(head),
        # Below the head while appends that took positions are in flight (docs/parallel-appends.md).
        "readableGlobalPosition": readable_global_position(),
        # PostgreSQL keeps the log in partitions made ahead (docs/partitioning.md).
        "eventPartitions": partitions.summary(head),
        "checkpoints": Checkpoint.objects.count(),
        "flags": verification.flag_counts(),
        "playerhood": verification.playerhood_distribution(),
        "suspectSessions": verification.suspect_sessions(),
        # An unavailable capability is no warning: the world ticks on and its requests fail.
        "capabilities": capability_registry.statuses(),
    }
    status["warnings"] = warnings_of(status)
    return status


def trends(*, now: datetime, minutes: int = 60) -> dict:
    """Per region, minute by minute over the last hour: ticks, lateness p99, log growth per tick;
    and open flags at the end of each minute. For the dashboard's charts."""
    since = now - timedelta(minutes=minutes)

    def bucket(moment: datetime) -> int:
        return int((moment - since).total_seconds() // 60)

    regions = {}
    for region in Region.objects.all():
        ticks = [0] * minutes
        late: list[list[int]] = [[] for _ in range(minutes)]
        growth: list[list[int]] = [[] for _ in range(minutes)]
        rows = verification.completions_since(region, since)
        previous = None
        for tick, recorded_at, global_position in rows:
            index = bucket(recorded_at)
            if 0 <= index < minutes:
                ticks[index] += 1
                late[index].append(verification.lateness_ms(region, tick, recorded_at))
                if previous is not None:
                    growth[index].append(global_position - previous)
            previous = global_position
        regions[region.id] = {
            "ticksPerMinute": ticks,
            "latenessP99Ms": [percentile(values, 99) if values else None for values in late],
            "eventsPerTick": [round(sum(values) / len(values), 1) if values else None for values in growth],
        }
    ends = [since + timedelta(minutes=i + 1) for i in range(minutes)]
    return {"since": since.isoformat(), "minutes": minutes, "regions": regions,
            "openFlags": verification.open_flags_at(ends)}


def page_continuity(region: Region) -> dict:
    """The continuity tracker's view of one region for its world page (DESIGN §7)."""
    agent_ids = list(Agent.objects.filter(region=region).values_list("id", flat=True))
    flags = verification.unresolved_flags([region.stream_id, *(f"agent:{a}" for a in agent_ids)])
    playerhood = projection_row("playerhood", region.id)
    open_flags = [flag for flag in flags if flag.status == "open"]
    return {**verification.region_continuity(region), "openFlags": len(open_flags),
            "acknowledgedFlags": len(flags) - len(open_flags),
            "flagKinds": sorted({flag.kind for flag in open_flags}),
            "playerhood": (playerhood["state"] if playerhood else {}).get("distribution", {})}
