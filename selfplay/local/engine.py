"""One region's tick loop without a database: the daemon's loop, handing its log to the caller.

`LocalWorld` runs the same rules (`selfplay.world`), brains (`agents.brains`) and turns
(`agents.turns`) as the daemon's tick (`agents.services.run_tick`), on the same schedule (tick n
is due at epoch + n × interval; after an absence at most `max_catchup` ticks are simulated and
the older ones recorded as `world.ticks.skipped`), and records the same events in the wire
format and hash chain of DESIGN §2 (`events.hashing`). Instead of appending them to a store it
returns them in `Batch`es: the browser's worker writes each batch to IndexedDB in one
transaction, as the daemon commits each tick in one.

Its whole state is plain JSON (a checkpoint is that state and its checksum), and `resume`
rebuilds it from a checkpoint and the events after it, or from a whole log. Clocks and ids are
injected, so the same world and the same clock give byte-identical logs in CPython and Pyodide.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agents import turns
from agents.brains.base import Brain
from agents.brains.registry import BUILTIN_BRAINS, resolve_brain
from events.hashing import chain_hash, envelope_json
from selfplay import world
from selfplay.canonical import canonical_json, sha256_hex

LOCAL_PLAYER = "player:local"
STATE_VERSION = 1
COMMAND_KINDS = ("override", "pause", "resume")
MAX_REASON = 500


class CommandRefused(ValueError):
    """A command the local world does not accept; `code` is a DESIGN §5 error code."""

    def __init__(self, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or {}


class LogCorrupt(ValueError):
    """Stored events that do not continue the state they are resumed onto."""


@dataclass(frozen=True)
class Schedule:
    """When ticks are due, and how often to plan and checkpoint."""

    epoch: datetime
    tick_seconds: int = 2
    max_catchup: int = 30
    plan_every: int = 30  # ticks between planning turns (60 s at 2 s, as the daemon's default)
    checkpoint_every: int = 500  # events between checkpoints


@dataclass
class Batch:
    """Events to write in one transaction, with the checkpoint that is due after them, if any."""

    events: list[dict] = field(default_factory=list)
    checkpoint: dict | None = None

    def to_json(self) -> dict:
        return {"events": self.events, "checkpoint": self.checkpoint}


@dataclass(frozen=True)
class NewLocalAgent:
    id: str
    name: str
    brain: str


def format_timestamp(moment: datetime) -> str:
    """Format an aware UTC datetime as `2026-11-26T12:00:00.123456Z` (as events.types does)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def empty_state(region: str) -> dict:
    """Return the engine state of a region before its first event."""
    return {
        "version": STATE_VERSION, "region": region, "world": world.initial_state("world", region),
        # The agent streams' view: status (pause/resume commands) and the latest plan.
        "agents": {}, "pending": [], "heads": {}, "globalPosition": 0, "checkpointedAt": 0,
    }


class _Writer:
    """Assign positions and hashes to a batch's events; nothing changes until `commit`."""

    def __init__(self, engine: LocalWorld) -> None:
        self.engine = engine
        self.heads: dict[str, list] = {}
        self.global_position = engine.state["globalPosition"]
        self.events: list[dict] = []
        self.recorded_at = format_timestamp(engine.clock())

    def append(self, stream_id: str, type_: str, data: dict, metadata: dict, event_id: str | None = None) -> dict:
        position, prev_hash = self.heads.get(stream_id) or self.engine.state["heads"].get(stream_id) or (0, "")
        position += 1
        event_id = event_id or self.engine.new_id()
        envelope = envelope_json(event_id=event_id, stream_id=stream_id, position=position, type=type_,
                                 data_json=canonical_json(data), metadata_json=canonical_json(metadata))
        digest = chain_hash(prev_hash, envelope)
        self.global_position += 1
        self.heads[stream_id] = [position, digest]
        event = {"id": event_id, "streamId": stream_id, "position": position,
                 "globalPosition": self.global_position, "type": type_, "data": data,
                 "metadata": metadata, "recordedAt": self.recorded_at, "prevHash": prev_hash, "hash": digest}
        self.events.append(event)
        return event

    def commit(self) -> Batch:
        state = self.engine.state
        state["heads"].update(self.heads)
        state["globalPosition"] = self.global_position
        batch = Batch(self.events)
        if self.events and state["globalPosition"] - state["checkpointedAt"] >= self.engine.schedule.checkpoint_every:
            batch.checkpoint = self.engine.checkpoint()
        return batch


class LocalWorld:
    """A region ticking in one process, its log handed out batch by batch."""

    def __init__(self, state: dict, *, schedule: Schedule, clock: Callable[[], datetime],
                 new_id: Callable[[], str], timer: Callable[[], float]) -> None:
        self.state, self.schedule = state, schedule
        self.clock, self.new_id, self.timer = clock, new_id, timer

    # --- making and resuming -----------------------------------------------------------------

    @classmethod
    def create(cls, *, region: str, seed: int, width: int, height: int, agents: list[NewLocalAgent],
               schedule: Schedule, clock, new_id, timer) -> tuple[LocalWorld, Batch]:
        """Generate a region and spawn its agents; return the world and its first batch.

        The schedule stays with the caller, not in `world.created`: a local world's cadence is
        the tab's, and the daemon that adopts it records its own (`world.imported`).
        """
        for agent in agents:
            resolve_brain(agent.brain)  # fail before recording anything
        engine = cls(empty_state(region), schedule=schedule, clock=clock, new_id=new_id, timer=timer)
        created = world.new_region(region, seed=seed, width=width, height=height)
        state = world.fold("world", engine.state["world"], [("world.created", created)])
        rng = random.Random(world.derive_seed("selfplay.local.spawn", seed, region))
        positions = world.spawn_positions(state, len(agents), rng=rng)
        writer = _Writer(engine)
        stream = f"world:{region}"
        writer.append(stream, "world.created", created, {"actor": "system"})
        spawned = []
        for agent, (x, y) in zip(agents, positions, strict=True):
            data = {"agentId": agent.id, "name": agent.name, "region": region, "brain": agent.brain,
                    "owner": None, "x": x, "y": y}
            spawned.append(writer.append(stream, "agent.spawned", data, {"actor": "system"}))
        engine.state["world"] = world.fold("world", state, spawned)
        for agent in agents:
            engine.state["agents"][agent.id] = {"status": "active", "plan": None}
        return engine, writer.commit()

    @classmethod
    def resume(cls, *, region: str, checkpoint: dict | None, events: Iterable[dict], schedule: Schedule,
               clock, new_id, timer) -> LocalWorld:
        """Rebuild a world from a checkpoint (or nothing) and the events after it, in global order.

        Each event must continue its stream's chain from the state it lands on; raise LogCorrupt
        naming the first that does not.
        """
        if checkpoint is None:
            state = empty_state(region)
        else:
            if sha256_hex(checkpoint["text"]) != checkpoint["checksum"]:
                raise LogCorrupt(f"checkpoint at global position {checkpoint['globalPosition']} "
                                 "does not match its checksum")
            state = json.loads(checkpoint["text"])
            if state.get("version") != STATE_VERSION or state.get("region") != region:
                raise LogCorrupt(f"checkpoint at global position {checkpoint['globalPosition']} "
                                 f"is not a version {STATE_VERSION} state of {region}")
        engine = cls(state, schedule=schedule, clock=clock, new_id=new_id, timer=timer)
        engine._absorb(events)
        return engine

    def _absorb(self, events: Iterable[dict]) -> None:
        """Fold recorded events (in global order) into the state: heads, world, agents, commands."""
        state = self.state
        heads, agents, world_stream = state["heads"], state["agents"], f"world:{state['region']}"
        world_events = []
        for event in events:
            stream_id = event["streamId"]
            position, prev_hash = heads.get(stream_id) or (0, "")
            if event["position"] != position + 1 or event["prevHash"] != prev_hash:
                raise LogCorrupt(f"{stream_id} position {event['position']} does not follow position {position}")
            recomputed = chain_hash(prev_hash, envelope_json(
                event_id=event["id"], stream_id=stream_id, position=event["position"], type=event["type"],
                data_json=canonical_json(event["data"]), metadata_json=canonical_json(event["metadata"])))
            if recomputed != event["hash"]:
                raise LogCorrupt(f"{stream_id} position {event['position']}: the hash does not match its content")
            if event["globalPosition"] <= state["globalPosition"]:
                raise LogCorrupt(f"global position {event['globalPosition']} is not after {state['globalPosition']}")
            heads[stream_id] = [event["position"], event["hash"]]
            state["globalPosition"] = event["globalPosition"]
            kind, data = event["type"], event["data"]
            if stream_id == world_stream:
                world_events.append(event)
                if kind == "agent.spawned":
                    agents.setdefault(data["agentId"], {"status": "active", "plan": None})
                continue
            agent_id = stream_id.partition(":")[2]
            entry = agents.setdefault(agent_id, {"status": "active", "plan": None})
            if kind == "agent.plan.updated":
                entry["plan"] = data.get("plan")
            elif kind in ("agent.paused", "agent.resumed"):
                entry["status"] = "paused" if kind == "agent.paused" else "active"
            elif kind in ("player.override.submitted", "agent.decision.submitted"):
                state["pending"].append({
                    "agentId": agent_id, "appliesAtTick": data["appliesAtTick"], "action": data["action"],
                    "source": "override" if kind == "player.override.submitted" else "external",
                    "eventId": event["id"], "actor": event["metadata"]["actor"]})
        if world_events:
            state["world"] = world.fold("world", state["world"], world_events)
        # Every tick drains the commands due at or before it, used or not (as the daemon does).
        state["pending"] = [c for c in state["pending"] if c["appliesAtTick"] > state["world"]["tick"]]

    # --- reading -------------------------------------------------------------------------------

    @property
    def region(self) -> str:
        return self.state["region"]

    @property
    def stream_id(self) -> str:
        return f"world:{self.region}"

    @property
    def tick_number(self) -> int:
        return self.state["world"]["tick"]

    def checkpoint(self) -> dict:
        """Return a checkpoint of the whole state now: {globalPosition, checksum, text}.

        `text` is the state's canonical JSON. The engine's state changes in place from tick to
        tick, so it is encoded here, never through `canonical_text`'s cache of immutable values.
        """
        self.state["checkpointedAt"] = self.state["globalPosition"]
        text = canonical_json(self.state)
        return {"globalPosition": self.state["globalPosition"], "checksum": sha256_hex(text), "text": text}

    def due_tick(self, now: datetime) -> int:
        """Return the number of the last tick due at `now` (whole intervals since the epoch)."""
        elapsed = (now - self.schedule.epoch).total_seconds()
        return max(0, math.floor(elapsed / self.schedule.tick_seconds))

    def next_due_at(self) -> datetime:
        """Return when the tick after the current one is due."""
        return self.schedule.epoch + timedelta(seconds=(self.tick_number + 1) * self.schedule.tick_seconds)

    # --- the loop --------------------------------------------------------------------------------

    def advance(self, now: datetime) -> list[Batch]:
        """Run every tick due at `now` (with the planning turns due before them); return the batches.

        After an absence at most `max_catchup` ticks are simulated; the older ones are recorded
        as `world.ticks.skipped`, as the daemon does after downtime.
        """
        due, batches = self.due_tick(now), []
        while due > self.tick_number:
            last = self.tick_number
            if due - last > self.schedule.max_catchup:
                batches.append(self.skip(last + 1, due - self.schedule.max_catchup))
                continue
            if last % self.schedule.plan_every == 0:
                planned = self.plan()
                if planned.events:
                    batches.append(planned)
            batches.append(self.tick(last + 1))
        return batches

    def skip(self, from_tick: int, to_tick: int) -> Batch:
        writer = _Writer(self)
        event = writer.append(self.stream_id, "world.ticks.skipped",
                              {"fromTick": from_tick, "toTick": to_tick, "reason": "downtime"}, {"actor": "system"})
        self.state["world"] = world.fold("world", self.state["world"], [event])
        return writer.commit()

    def plan(self) -> Batch:
        """Ask every active agent's brain for a plan; record the ones that changed."""
        state, tick, writer = self.state["world"], self.tick_number, _Writer(self)
        for agent_id, entry in sorted(self.state["agents"].items()):
            if entry["status"] != "active" or agent_id not in state["agents"]:
                continue
            brain = _brain(state["agents"][agent_id]["brain"])
            if brain is None:
                continue
            new_plan = turns.plan(brain, turns.context(agent_id, state, entry["plan"], tick=tick), state)
            if new_plan is not None and new_plan != entry["plan"]:
                writer.append(f"agent:{agent_id}", "agent.plan.updated",
                              {"agentId": agent_id, "region": self.region, "tick": tick, "plan": new_plan},
                              {"actor": f"agent:{agent_id}", "tick": tick})
        batch = writer.commit()
        for event in batch.events:
            self.state["agents"][event["data"]["agentId"]]["plan"] = event["data"]["plan"]
        return batch

    def tick(self, tick: int) -> Batch:
        """Run one tick (DESIGN §4 steps 1–6) and return its events: decisions, then the world's."""
        started = self.timer()
        state, region = self.state["world"], self.region
        if state["tick"] >= tick:
            raise ValueError(f"tick {tick} of {region} is already recorded")
        correlation = turns.tick_correlation_id(region, tick)
        system = {"actor": "system", "tick": tick, "correlationId": correlation}
        world_events = self._status_changes(tick, system)
        if world_events:
            state = world.fold("world", state, world_events)
        pending = self._take_pending(tick)

        decisions: dict[str, object] = {}
        causes: dict[str, str] = {}
        agent_events = []
        for agent_id in sorted(state["agents"]):
            entry = self.state["agents"].get(agent_id)
            command = pending.get(agent_id)
            if entry is None or (entry["status"] != "active" and command is None):
                continue
            data = {"tick": tick, "region": region}
            metadata = {"actor": f"agent:{agent_id}", "tick": tick, "correlationId": correlation}
            if command is not None:
                data.update(action=command["action"], source=command["source"])
                metadata.update(actor=command["actor"], causationId=command["eventId"])
                action = command["action"]
            else:
                action, error = self._decide(agent_id, state, entry["plan"], tick)
                data.update(action=action, source="brain")
                if error:
                    data["brainError"] = error
            event_id = self.new_id()
            causes[agent_id] = command["eventId"] if command is not None else event_id
            decisions[agent_id] = action
            agent_events.append((f"agent:{agent_id}", data, metadata, event_id))

        outcomes = world.evaluate_tick(state, decisions, tick=tick, seed=world.tick_seed(state["seed"], tick))
        for kind, data in outcomes:
            world_events.append((kind, data, {**system, "causationId": causes.get(data["agentId"])}))
        duration_ms = round((self.timer() - started) * 1000)
        completed, after = world.close_tick(state, outcomes, tick=tick, duration_ms=duration_ms)
        world_events.append(("world.tick.completed", completed, system))

        writer = _Writer(self)
        for stream_id, data, metadata, event_id in agent_events:
            writer.append(stream_id, "agent.action.submitted", data, metadata, event_id)
        for kind, data, metadata in world_events:
            writer.append(self.stream_id, kind, data, metadata)
        self.state["world"] = after
        self.state["pending"] = [c for c in self.state["pending"] if c["appliesAtTick"] > tick]
        return writer.commit()

    def _status_changes(self, tick: int, metadata: dict) -> list[tuple[str, dict, dict]]:
        """World events that bring paused/resumed agents in line with their agent streams."""
        changes = []
        for agent_id, entry in sorted(self.state["world"]["agents"].items()):
            wanted = self.state["agents"].get(agent_id)
            if wanted is not None and entry.get("status") != wanted["status"]:
                kind = "agent.paused" if wanted["status"] == "paused" else "agent.resumed"
                changes.append((kind, {"agentId": agent_id, "region": self.region, "tick": tick}, metadata))
        return changes

    def _take_pending(self, tick: int) -> dict[str, dict]:
        """Return the commands due at this tick, one per agent (overrides first)."""
        due = sorted((c for c in self.state["pending"] if c["appliesAtTick"] <= tick),
                     key=lambda c: (c["appliesAtTick"], c["source"]))
        chosen: dict[str, dict] = {}
        for command in due:
            current = chosen.get(command["agentId"])
            if current is None or (command["source"] == "override" and current["source"] != "override"):
                chosen[command["agentId"]] = command
        return chosen

    def _decide(self, agent_id: str, state: dict, plan: dict | None, tick: int) -> tuple[object, str | None]:
        name = state["agents"][agent_id]["brain"]
        brain = _brain(name)
        if brain is None:
            return turns.IDLE, f"UnknownBrain: no brain named {name!r} in this runtime"[:200]
        return turns.decide(brain, turns.context(agent_id, state, plan, tick=tick), state)

    # --- commands from the page ----------------------------------------------------------------

    def command(self, *, kind: str, agent_id: str, action: object = None, reason: str = "",
                actor: str = LOCAL_PLAYER) -> Batch:
        """Record an override, pause or resume of an agent (the local `POST /command`)."""
        if kind not in COMMAND_KINDS:
            raise CommandRefused("invalid", f"kind must be one of {', '.join(COMMAND_KINDS)}.", {"kind": kind})
        entry = self.state["agents"].get(agent_id)
        if entry is None or agent_id not in self.state["world"]["agents"]:
            raise CommandRefused("not_found", f"No agent {agent_id} in {self.region}.", {"agentId": agent_id})
        reason = reason or ""
        if not isinstance(reason, str) or len(reason) > MAX_REASON:
            raise CommandRefused("invalid", f"reason is longer than {MAX_REASON} characters.", {"reason": "too long"})
        applies_at = self.tick_number + 1
        base = {"agentId": agent_id, "region": self.region, "appliesAtTick": applies_at}
        writer = _Writer(self)
        if kind == "override":
            try:
                action = world.validate_action(action)
            except world.InvalidAction as exc:
                raise CommandRefused("invalid", f"Invalid action: {exc}", {"action": exc.details}) from exc
            if any(c["agentId"] == agent_id and c["appliesAtTick"] == applies_at and c["source"] == "override"
                   for c in self.state["pending"]):
                raise CommandRefused("conflict", f"{agent_id} already has a pending override for tick {applies_at}.",
                                     {"appliesAtTick": applies_at})
            event = writer.append(f"agent:{agent_id}", "player.override.submitted",
                                  {**base, "action": action, "reason": reason}, {"actor": actor})
            self.state["pending"].append({"agentId": agent_id, "appliesAtTick": applies_at, "action": action,
                                          "source": "override", "eventId": event["id"], "actor": actor})
        else:
            target = "paused" if kind == "pause" else "active"
            if entry["status"] == target:
                raise CommandRefused("conflict", f"{agent_id} is already {target}.", {"status": target})
            writer.append(f"agent:{agent_id}", f"agent.{'paused' if kind == 'pause' else 'resumed'}",
                          {**base, "reason": reason}, {"actor": actor})
            entry["status"] = target
        return writer.commit()


def _brain(name: str) -> Brain | None:
    """Return the built-in brain of that name, None when this runtime has no such brain."""
    if name not in BUILTIN_BRAINS:
        return None
    return resolve_brain(name)


def local_agents(region: str, per_brain: int, brains: Iterable[str] = tuple(sorted(BUILTIN_BRAINS))) -> list[NewLocalAgent]:
    """Return `per_brain` agents of each brain, their ids namespaced by the region.

    `<region>-<brain>-<n>`: a local region's id is made unique where it is created (a random
    suffix), so its agents never share an id with the daemon's, and an import that would is
    refused rather than renamed (a rename would break the hash chains).
    """
    return [NewLocalAgent(id=f"{region}-{brain}-{n}", name=f"{brain.title()} {n}", brain=brain)
            for n in range(1, per_brain + 1) for brain in brains]
