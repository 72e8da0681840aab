"""Adopting a local world's log as a new region of the daemon (DESIGN §10).

`import_log` verifies the whole file before anything is written (`selfplay.local.logfile`:
every hash chain and seal, then every recorded tick re-evaluated from its recorded decisions,
as `verify_replay` does), then in ONE transaction creates the region and its agents (owned by
the importing player), re-records every event through the normal write path in the log's
global order (the same ids, streams, positions and content, so the same hashes), queues the
commands still pending, and records `world.imported`. The region then ticks on the daemon's
cadence from the log's last tick: its epoch is set so that the next tick is due one interval
after the import.

A refusal is a `TransferRefused` with the DESIGN §5 shape and writes nothing: 400 `invalid`
naming the first bad event (index in the file, stream, position, global position, and what
is wrong), 409 `conflict` naming the first id the daemon already has. Local worlds namespace
their agents' ids by their region (`<region>-<brain>-<n>`, the region id carrying a random
suffix), so conflicts are rare; a log is never renamed, since renaming would break its chains.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from events.models import Stream
from events.projections import load_state
from events.store import EventIdConflict, NewEvent, WrongExpectedVersion, record
from selfplay import ratelimit
from selfplay.errors import Refused
from selfplay.local import logfile
from selfplay.local.engine import LOCAL_PLAYER

from .auth import AgentPrincipal, actor_of
from .capabilities.services import grant_capabilities
from .models import Agent, PendingCommand, Region

GZIP_MAGIC = b"\x1f\x8b"


class TransferRefused(Refused):
    """An import or export that is not carried out; `code` is a DESIGN §5 error code."""


@dataclass(frozen=True)
class ImportReport:
    region: str
    owner: str
    events: int
    ticks: int
    last_tick: int
    agents: int
    epoch: datetime
    tick_seconds: int

    def to_json(self) -> dict:
        return {"region": self.region, "owner": self.owner, "events": self.events, "ticks": self.ticks,
                "lastTick": self.last_tick, "agents": self.agents, "epoch": self.epoch.isoformat(),
                "tickSeconds": self.tick_seconds}


# --- who may ----------------------------------------------------------------------------------


def require_player(principal) -> str:
    """Return the actor of a logged-in player or operator; refuse anyone else."""
    actor = actor_of(principal)
    if actor is None:
        raise TransferRefused("unauthenticated", "Log in, or send an API token, to import or export a world.")
    if isinstance(principal, AgentPrincipal):
        raise TransferRefused("forbidden", "An agent key cannot import or export worlds.")
    return actor


def limit_rate(actor: str) -> None:
    """Count one import or export for `actor` (they are heavy); refuse past the limit."""
    try:
        decision = ratelimit.hit(f"worlds:{actor}", limit=settings.SELFPLAY_IMPORT_RATE_LIMIT,
                                 window_seconds=settings.SELFPLAY_IMPORT_RATE_WINDOW_SECONDS)
    except ratelimit.RateLimitUnavailable as exc:
        raise TransferRefused("unavailable", "Imports are unavailable for a moment; try again shortly.",
                              {"retryAfter": 5}, retry_after=5) from exc
    if not decision.allowed:
        raise TransferRefused("rate_limited", f"At most {decision.limit} imports and exports per window; "
                            f"retry in {decision.retry_after} s.",
                            {"limit": decision.limit, "retryAfter": decision.retry_after},
                            retry_after=decision.retry_after)


def read_body(raw: bytes, *, limit: int | None = None) -> bytes:
    """Return a log file's bytes, gunzipped when they are gzip; refuse more than `limit` bytes."""
    limit = settings.SELFPLAY_IMPORT_MAX_BYTES if limit is None else limit
    too_large = TransferRefused("invalid", f"A log file is at most {limit} bytes.", {"reason": "too_large", "limit": limit})
    if len(raw) > limit:
        raise too_large
    if not raw.startswith(GZIP_MAGIC):
        return raw
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        text = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise TransferRefused("invalid", f"The gzip body cannot be read: {exc}.", {"reason": "not_gzip"}) from None
    if len(text) > limit or inflater.unconsumed_tail:
        raise too_large
    return text


# --- importing -------------------------------------------------------------------------------


def import_log(*, owner, raw: bytes, now: datetime | None = None) -> ImportReport:
    """Verify a log file, then adopt it as a new region owned by `owner`; see the module docstring."""
    actor = require_player(owner)
    try:
        log = logfile.load(read_body(raw), max_events=settings.SELFPLAY_IMPORT_MAX_EVENTS,
                           actors={"system", LOCAL_PLAYER, actor}, brains=set(settings.SELFPLAY_BRAINS))
    except logfile.LogRefused as exc:
        raise TransferRefused("invalid", f"The log does not verify: {exc.message}", exc.details) from None
    try:
        return _adopt(log, owner=owner, actor=actor, now=now or timezone.now())
    except IntegrityError as exc:
        # Another import (or a new agent) took one of these ids while this one was verifying.
        raise TransferRefused("conflict", "The daemon already has a region or agent of this log.",
                            {"region": log.region, "reason": str(exc)[:200]}) from None


def _conflicts(log: logfile.VerifiedLog) -> None:
    if Region.objects.filter(id=log.region).exists():
        raise TransferRefused("conflict", f"The daemon already has a region {log.region}.",
                            {"region": log.region, "streamId": f"world:{log.region}"})
    taken = sorted(Agent.objects.filter(id__in=list(log.agents)).values_list("id", flat=True))
    streams = [f"world:{log.region}", *(f"agent:{agent_id}" for agent_id in sorted(log.agents))]
    taken_streams = sorted(Stream.objects.filter(id__in=streams).values_list("id", flat=True))
    if taken or taken_streams:
        first = taken[0] if taken else taken_streams[0].partition(":")[2]
        spawned = log.events[log.agents[first]["spawnedAt"]] if first in log.agents else log.events[0]
        raise TransferRefused("conflict", f"The daemon already has agent {first}: this log cannot keep its ids here.",
                            {"agentId": first, "agents": taken[:20], "streams": taken_streams[:20],
                             "index": log.agents.get(first, {}).get("spawnedAt", 0),
                             "streamId": spawned["streamId"], "position": spawned["position"],
                             "globalPosition": spawned["globalPosition"]})


def _runs(events: list[dict]) -> Iterator[tuple[str, list[NewEvent], int]]:
    """Group the log into runs of one stream, in global order, each expecting its stream's head."""
    run: list[dict] = []
    for event in events:
        if run and event["streamId"] != run[0]["streamId"]:
            yield run[0]["streamId"], [_new(e) for e in run], run[0]["position"] - 1
            run = []
        run.append(event)
    if run:
        yield run[0]["streamId"], [_new(e) for e in run], run[0]["position"] - 1


def _new(event: dict) -> NewEvent:
    return NewEvent(event["type"], event["data"], event["metadata"], id=event["id"])


@transaction.atomic
def _adopt(log: logfile.VerifiedLog, *, owner, actor: str, now: datetime) -> ImportReport:
    _conflicts(log)
    tick_seconds = settings.SELFPLAY_SIM_TICK_SECONDS
    epoch = now - timedelta(seconds=log.last_tick * tick_seconds)
    region = Region.objects.create(id=log.region, seed=log.seed, width=log.width, height=log.height,
                                   epoch=epoch, tick_seconds=tick_seconds)
    Agent.objects.bulk_create([
        Agent(id=agent_id, name=agent["name"], region=region, brain=agent["brain"], owner=owner,
              status=agent["status"])
        for agent_id, agent in sorted(log.agents.items())])
    try:
        recorded = record(list(_runs(log.events)))
    except EventIdConflict as exc:
        index = next(i for i, e in enumerate(log.events) if e["id"] == exc.event_id)
        raise TransferRefused("conflict", f"The daemon already has an event with id {exc.event_id}.",
                            {"eventId": exc.event_id, "index": index, "streamId": log.events[index]["streamId"],
                             "position": log.events[index]["position"]}) from None
    except WrongExpectedVersion as exc:
        raise TransferRefused("conflict", f"Stream {exc.stream_id} appeared on the daemon during the import.",
                            {"streamId": exc.stream_id}) from None
    for index, (mine, theirs) in enumerate(zip(recorded, log.events, strict=True)):
        # The same envelope gives the same hash: anything else means the log was not kept as is.
        if mine.hash != theirs["hash"] or mine.id != theirs["id"]:
            raise TransferRefused("invalid", "Re-recording the log changed an event's hash.", {
                "reason": "hash_mismatch", "index": index, "streamId": theirs["streamId"],
                "position": theirs["position"], "globalPosition": theirs["globalPosition"]})
    for command in log.pending:
        PendingCommand.objects.create(agent_id=command["agentId"], applies_at_tick=command["appliesAtTick"],
                                      source=command["source"], action=command["action"],
                                      event_id=command["eventId"], actor=command["actor"])
    world_head = next(e.position for e in reversed(recorded) if e.stream_id == region.stream_id)
    record([(region.stream_id, [NewEvent("world.imported", {
        "region": region.id, "owner": owner.get_username(), "events": len(recorded), "ticks": log.ticks,
        "lastTick": log.last_tick, "epoch": epoch.isoformat(), "tickSeconds": tick_seconds,
    }, {"actor": actor})], world_head)])
    _withdraw_grants(region.id)
    return ImportReport(region=region.id, owner=owner.get_username(), events=len(recorded), ticks=log.ticks,
                        last_tick=log.last_tick, agents=len(log.agents), epoch=epoch, tick_seconds=tick_seconds)


def _withdraw_grants(region_id: str) -> None:
    """Record every grant the log gave its agents as withdrawn: capabilities are this daemon's
    operators' to grant, and a log is a file anyone can write."""
    agents = load_state("agents", region_id, shared=True)[0]["agents"]
    for agent_id, entry in sorted(agents.items()):
        if (entry.get("capabilities") or {}).get("grants"):
            grant_capabilities(agent_id=agent_id, grants=[], actor="system")
