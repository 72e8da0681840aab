"""The Web Worker's Python side (static/js/local-worker.js): JSON text in, JSON text out.

The worker keeps the log in IndexedDB, one record per event holding the event's wire JSON (the
text this module returns, written as is, so what is stored is exactly what was hashed); this
module keeps the one `LocalWorld` the worker drives. Batches come back as
`{"events": [<wire JSON text>…], "checkpoint": {globalPosition, checksum, text} | null}`.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from selfplay.canonical import canonical_json

from . import logfile
from .engine import Batch, CommandRefused, LocalWorld, Schedule, empty_state, local_agents
from .simulate import run as simulate_run

_engine: LocalWorld | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _schedule(meta: dict) -> Schedule:
    return Schedule(epoch=_parse_time(meta["epoch"]), tick_seconds=meta["tickSeconds"],
                    max_catchup=meta["maxCatchup"], plan_every=meta["planEvery"],
                    checkpoint_every=meta["checkpointEvery"])


def _engine_or_fail() -> LocalWorld:
    if _engine is None:
        raise RuntimeError("no local world is open")
    return _engine


def _batch(batch: Batch) -> dict:
    return {"events": [canonical_json(e) for e in batch.events], "checkpoint": batch.checkpoint}


def _answer(**values) -> str:
    return json.dumps(values, ensure_ascii=False, allow_nan=False)


def _summary(engine: LocalWorld) -> dict:
    """What the page needs to draw the world now (DESIGN §5's world projection state)."""
    heads = engine.state["heads"]
    return {"region": engine.region, "world": engine.state["world"],
            "position": heads.get(engine.stream_id, [0, ""])[0], "globalPosition": engine.state["globalPosition"],
            "agents": engine.state["agents"], "nextDueMs": round(engine.next_due_at().timestamp() * 1000)}


def _meta(settings: dict, *, region: str, seed: int, width: int, height: int, epoch: datetime, origin: str) -> dict:
    return {"region": region, "seed": seed, "width": width, "height": height, "origin": origin,
            "epoch": epoch.isoformat(), "tickSeconds": int(settings["tickSeconds"]),
            "maxCatchup": int(settings["maxCatchup"]), "planEvery": int(settings["planEvery"]),
            "checkpointEvery": int(settings["checkpointEvery"])}


def create(spec_json: str) -> str:
    """Start a new world: {region, seed, width, height, perBrain, tickSeconds, maxCatchup, planEvery,
    checkpointEvery}; answer {meta, batches, summary}."""
    global _engine
    spec = json.loads(spec_json)
    meta = _meta(spec, region=spec["region"], seed=int(spec["seed"]), width=int(spec["width"]),
                 height=int(spec["height"]), epoch=_now(), origin="new")
    _engine, batch = LocalWorld.create(
        region=meta["region"], seed=meta["seed"], width=meta["width"], height=meta["height"],
        agents=local_agents(meta["region"], int(spec["perBrain"])), schedule=_schedule(meta),
        clock=_now, new_id=_new_id, timer=time.perf_counter)
    return _answer(meta=meta, batches=[_batch(batch)], summary=_summary(_engine))


def resume(meta_json: str, checkpoint_json: str | None, events_text: str) -> str:
    """Reopen a stored world from its newest checkpoint (or none) and the events after it.

    `events_text` is the stored wire JSON of those events, one per line, in global order.
    """
    global _engine
    meta = json.loads(meta_json)
    checkpoint = json.loads(checkpoint_json) if checkpoint_json else None
    events = [json.loads(line) for line in events_text.split("\n") if line]
    _engine = LocalWorld.resume(region=meta["region"], checkpoint=checkpoint, events=events,
                                schedule=_schedule(meta), clock=_now, new_id=_new_id, timer=time.perf_counter)
    # The page starts, as a live page does, from the checkpoint's world and folds the tail itself.
    base = json.loads(checkpoint["text"]) if checkpoint else empty_state(meta["region"])
    stream = _engine.stream_id
    return _answer(summary=_summary(_engine),
                   base={"world": base["world"], "position": base["heads"].get(stream, [0, ""])[0]})


def advance() -> str:
    """Run the ticks due now; answer {batches, summary}."""
    engine = _engine_or_fail()
    batches = engine.advance(_now())
    return _answer(batches=[_batch(b) for b in batches], summary=_summary(engine))


def command(command_json: str) -> str:
    """Record a command typed into the page: {kind, agentId, action?, reason?}; answer {batch} or {error}."""
    engine = _engine_or_fail()
    body = json.loads(command_json)
    try:
        batch = engine.command(kind=body.get("kind"), agent_id=body.get("agentId"), action=body.get("action"),
                               reason=body.get("reason") or "")
    except CommandRefused as exc:
        return _answer(error={"code": exc.code, "message": exc.message, "details": exc.details})
    return _answer(batch=_batch(batch), appliesAtTick=engine.tick_number + 1)


def export(region: str, events_text: str) -> str:
    """Return the log file of a stored world (its events' wire JSON, one per line)."""
    events = [json.loads(line) for line in events_text.split("\n") if line]
    return logfile.dumps(region, events)


def open_file(raw: str, settings_json: str) -> str:
    """Verify a log file and return what a new local world made of it needs to be stored.

    Answer {meta, events (wire JSON texts), checkpoint, ticks} or {error} naming where the file
    first fails to verify. The world this worker drives is left as it is.
    """
    settings = json.loads(settings_json)
    try:
        log = logfile.load(raw)
    except logfile.LogRefused as exc:
        return _answer(error={"code": "invalid", "message": exc.message, "details": exc.details})
    # As the daemon does when it adopts a log: the next tick is due one interval from now.
    epoch = _now() - timedelta(seconds=log.last_tick * int(settings["tickSeconds"]))
    meta = _meta(settings, region=log.region, seed=log.seed, width=log.width, height=log.height,
                 epoch=epoch, origin="file")
    opened = LocalWorld.resume(region=log.region, checkpoint=None, events=log.events, schedule=_schedule(meta),
                               clock=_now, new_id=_new_id, timer=time.perf_counter)
    return _answer(meta=meta, events=[canonical_json(e) for e in log.events], checkpoint=opened.checkpoint(),
                   ticks=log.ticks, lastTick=log.last_tick)


def simulate(spec_json: str) -> str:
    """Run a world in memory on a fixed clock and fixed ids; answer what both runtimes must agree on.

    {region, seed, width, height, perBrain, ticks} → {checksums (one per tick), decisions (sha256
    per tick of its decisions), heads (every stream's last hash), events, elapsedMs}.
    """
    spec = json.loads(spec_json)
    started = time.perf_counter()
    result = simulate_run(region=spec["region"], seed=int(spec["seed"]), width=int(spec["width"]),
                          height=int(spec["height"]), per_brain=int(spec["perBrain"]), ticks=int(spec["ticks"]))
    return _answer(**result, elapsedMs=round((time.perf_counter() - started) * 1000))
