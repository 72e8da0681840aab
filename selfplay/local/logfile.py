"""The log file of one region, and its verification (docs/local-log.md).

A file holds one region's world stream and its agents' streams, in global order, each event in
the exact wire format of DESIGN §2:

    {"format":"selfplay-log","version":1,"region":"<id>","events":[
    <one wire event per line>
    ],"seals":[
    "<one seal per event>"
    ]}

Every byte is covered: an event's hash chain covers its id, stream, position, type, data and
metadata; its seal, sha256(hash + "\\n" + globalPosition + "\\n" + recordedAt), covers the two
fields the chain leaves out; the header must agree with the first event. `verify` checks all of
it, then re-evaluates every recorded tick from its recorded decisions (`TickReplayer`, as
`verify_replay` does), and refuses with `LogRefused` naming the first bad place: the event's
index in the file, its stream, position and global position. The daemon runs it before it adopts
a log (`agents.imports`), the browser before it opens one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from events.hashing import event_hash
from events.types import ACTOR_RE, EVENT_TYPE_RE, STREAM_ID_RE
from selfplay.canonical import canonical_json, sha256_hex
from selfplay.world import PROJECTIONS, initial_state, ledger
from selfplay.world.replay import OUTCOMES, TickReplayer

FORMAT = "selfplay-log"
VERSION = 1
HEADER_KEYS = ("format", "version", "region", "events", "seals")
WIRE_KEYS = frozenset({"id", "streamId", "position", "globalPosition", "type", "data", "metadata",
                       "recordedAt", "prevHash", "hash"})
WORLD_TYPES = frozenset({"world.created", "agent.spawned", "agent.action.succeeded", "agent.action.failed",
                         "world.tick.completed", "world.ticks.skipped", "agent.paused", "agent.resumed",
                         "agent.owner.changed", "agent.brain.changed", "world.imported"})
# With a daemon's capability records (grants, requests and their results): history to keep, never
# re-run; an import withdraws the grants (agents.imports).
AGENT_TYPES = frozenset({"agent.action.submitted", "agent.plan.updated", "player.override.submitted",
                         "agent.decision.submitted", "agent.decision.superseded", "agent.paused", "agent.resumed",
                         *ledger.TYPES})
# World events about one agent of the world, which must have been spawned before them.
ABOUT_AN_AGENT = frozenset({"agent.paused", "agent.resumed", "agent.owner.changed", "agent.brain.changed"})
COMMAND_TYPES = {"player.override.submitted": "override", "agent.decision.submitted": "external"}
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_HASH_RE = re.compile(r"^[0-9a-f]{64}\Z")
_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")


class LogRefused(ValueError):
    """A log that does not verify; `details` names where (and `reason` what) first went wrong."""

    def __init__(self, reason: str, message: str, **details) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message
        self.details = {"reason": reason, **details}


@dataclass
class VerifiedLog:
    """A log that verified: its region, agents, last tick and the commands still pending."""

    region: str
    seed: int
    width: int
    height: int
    events: list[dict]
    world: dict
    last_tick: int
    ticks: int  # ticks re-evaluated
    agents: dict[str, dict] = field(default_factory=dict)  # id -> {name, brain, status, spawnedAt}
    pending: list[dict] = field(default_factory=list)  # commands due after the last tick


def seal(event: dict) -> str:
    """Return the seal of an event: what its hash chain does not cover, bound to its hash."""
    return sha256_hex(f"{event['hash']}\n{event['globalPosition']}\n{event['recordedAt']}")


def iter_dump(region: str, events: Iterable[dict]) -> Iterator[str]:
    """Yield the log file text of a region's events (wire dicts, in global order), line by line."""
    yield canonical_json({"format": FORMAT, "region": region, "version": VERSION})[:-1] + ',"events":[\n'
    seals = []
    for event in events:
        yield ("" if not seals else ",\n") + canonical_json(event)
        seals.append(seal(event))
    yield '\n],"seals":[\n' + ",\n".join(f'"{s}"' for s in seals) + "\n]}\n"


def dumps(region: str, events: Iterable[dict]) -> str:
    """Return the log file text of a region's events (wire dicts, in global order)."""
    return "".join(iter_dump(region, events))


# --- parsing ------------------------------------------------------------------------------------


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _unique_keys(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def parse(raw: bytes | str, *, max_events: int | None = None) -> tuple[str, list[dict], list]:
    """Return (region, events, seals) of a log file's text; raise LogRefused if it is not one."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LogRefused("not_json", f"The file is not UTF-8 text (byte {exc.start}).", offset=exc.start) from None
    try:
        document = json.loads(raw, object_pairs_hook=_unique_keys, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise LogRefused("not_json", f"The file is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.",
                         offset=exc.pos, line=exc.lineno, column=exc.colno) from None
    except (ValueError, RecursionError) as exc:
        raise LogRefused("not_json", f"The file is not plain JSON: {exc}.") from None
    if not isinstance(document, dict) or sorted(document) != sorted(HEADER_KEYS):
        keys = sorted(document) if isinstance(document, dict) else None
        raise LogRefused("format", f"A log file is an object with exactly {', '.join(HEADER_KEYS)}.", keys=keys)
    if document["format"] != FORMAT or document["version"] != VERSION:
        raise LogRefused("format", f"Not a {FORMAT} version {VERSION} file.",
                         format=str(document["format"])[:40], version=str(document["version"])[:10])
    region, events, seals = document["region"], document["events"], document["seals"]
    if not isinstance(region, str) or not STREAM_ID_RE.match(f"world:{region}"):
        raise LogRefused("format", "region must be a region id ([a-z0-9][a-z0-9-]{0,63}).", field="region")
    if not isinstance(events, list) or not isinstance(seals, list) or len(events) != len(seals):
        raise LogRefused("format", "events and seals must be lists of the same length.", field="seals")
    if not events:
        raise LogRefused("format", "The log has no events.", field="events")
    if max_events is not None and len(events) > max_events:
        raise LogRefused("too_large", f"The log holds {len(events)} events; at most {max_events} are accepted.",
                         events=len(events), limit=max_events)
    return region, events, seals


# --- verifying ----------------------------------------------------------------------------------


def _where(index: int, event: object) -> dict:
    """Name an event: its index in the file and, as far as they can be read, its coordinates."""
    where: dict = {"index": index}
    if isinstance(event, dict):
        for key in ("streamId", "position", "globalPosition"):
            value = event.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool):
                where[key] = value if not isinstance(value, str) else value[:80]
    return where


def _describe(where: dict) -> str:
    text = f"event #{where['index'] + 1} of the file"
    if "streamId" in where and "position" in where:
        text += f" ({where['streamId']} position {where['position']}"
        if "globalPosition" in where:
            text += f", global position {where['globalPosition']}"
        text += ")"
    return text


def _refuse(reason: str, index: int, event: object, problem: str, **extra) -> LogRefused:
    where = _where(index, event)
    return LogRefused(reason, f"{_describe(where)}: {problem}", **where, **extra)


def _is_int(value: object, minimum: int) -> bool:
    return type(value) is int and value >= minimum


def _check_shape(index: int, event: object) -> None:
    if not isinstance(event, dict):
        raise _refuse("format", index, event, "an event must be a JSON object")
    missing, extra = sorted(WIRE_KEYS - event.keys()), sorted(event.keys() - WIRE_KEYS)
    if missing or extra:
        raise _refuse("format", index, event, "not an event in the wire format of DESIGN §2",
                      missing=missing, unexpected=[str(k)[:40] for k in extra[:10]])
    problems = []
    if not isinstance(event["id"], str) or not _UUID_RE.match(event["id"]):
        problems.append("id is not a lowercase UUID")
    if not isinstance(event["streamId"], str) or not STREAM_ID_RE.match(event["streamId"]):
        problems.append("streamId is not <kind>:<name>")
    if not _is_int(event["position"], 1):
        problems.append("position is not an integer >= 1")
    if not _is_int(event["globalPosition"], 1):
        problems.append("globalPosition is not an integer >= 1")
    if not isinstance(event["type"], str) or not EVENT_TYPE_RE.match(event["type"]):
        problems.append("type is not a dotted lowercase name")
    if not isinstance(event["data"], dict):
        problems.append("data is not an object")
    metadata = event["metadata"]
    if not isinstance(metadata, dict) or not isinstance(metadata.get("actor"), str) or not ACTOR_RE.match(metadata["actor"]):
        problems.append("metadata has no valid actor")
    if not isinstance(event["recordedAt"], str) or not _TIME_RE.match(event["recordedAt"]):
        problems.append("recordedAt is not an ISO-8601 UTC time with microseconds")
    if not isinstance(event["hash"], str) or not _HASH_RE.match(event["hash"]):
        problems.append("hash is not 64 lowercase hex digits")
    if not isinstance(event["prevHash"], str) or not (event["prevHash"] == "" or _HASH_RE.match(event["prevHash"])):
        problems.append("prevHash is not empty or 64 lowercase hex digits")
    if problems:
        raise _refuse("format", index, event, "; ".join(problems), problems=problems)


class _Verifier:
    def __init__(self, region: str, *, actors: set[str] | None, brains: set[str] | None) -> None:
        self.region, self.world_stream = region, f"world:{region}"
        self.actors, self.brains = actors, brains
        self.heads: dict[str, tuple[int, str]] = {}
        self.last_global = 0
        self.agents: dict[str, dict] = {}
        self.replayer = TickReplayer()
        self.last_tick = 0
        self.ticks = 0
        self.since_tick: list[tuple[int, dict]] = []  # this tick's outcomes so far, with their index
        self.decided: dict[str, tuple[int, dict]] = {}  # "region|tick" -> the first decision seen
        self.commands: list[dict] = []
        # The world as the log builds it, folded event by event in place (one copy in all), so
        # an event the reducer cannot take is named where it stands.
        self.world = PROJECTIONS["world"].thaw(initial_state("world", region))
        self.world_events = 0

    def check(self, index: int, event: dict, seal_value: object) -> None:
        if seal_value != seal(event):
            raise _refuse("seal_mismatch", index, event,
                          "its seal does not match its hash, globalPosition and recordedAt")
        if event["globalPosition"] <= self.last_global:
            raise _refuse("out_of_order", index, event,
                          f"global position {event['globalPosition']} does not come after {self.last_global}")
        self.last_global = event["globalPosition"]
        self._check_chain(index, event)
        self._check_content(index, event)
        self._replay(index, event)

    def _check_chain(self, index: int, event: dict) -> None:
        stream_id = event["streamId"]
        position, prev_hash = self.heads.get(stream_id, (0, ""))
        if event["position"] != position + 1:
            raise _refuse("chain_broken", index, event, f"position {position + 1} of {stream_id} was expected")
        if event["prevHash"] != prev_hash:
            raise _refuse("chain_broken", index, event, "prevHash does not link to the previous event of its stream")
        recomputed = event_hash(prev_hash=prev_hash, event_id=event["id"], stream_id=stream_id,
                                position=event["position"], type=event["type"], data=event["data"],
                                metadata=event["metadata"])
        if recomputed != event["hash"]:
            raise _refuse("hash_mismatch", index, event, "the hash does not match the event's content")
        self.heads[stream_id] = (event["position"], event["hash"])

    def _check_content(self, index: int, event: dict) -> None:
        stream_id, kind, data = event["streamId"], event["type"], event["data"]
        actor = event["metadata"]["actor"]
        if stream_id == self.world_stream:
            if (event["position"] == 1) != (kind == "world.created"):
                raise _refuse("invalid_event", index, event, "world.created is the first event of the world stream, and only it")
            if kind not in WORLD_TYPES:
                raise _refuse("invalid_event", index, event, f"{kind} does not belong in a world stream")
            if kind == "world.created":
                self._created(index, event)
            elif kind == "agent.spawned":
                self._spawned(index, event)
            elif kind in ABOUT_AN_AGENT and data.get("agentId") not in self.agents:
                raise _refuse("invalid_event", index, event, f"{kind} names no agent of this world")
            elif kind == "agent.brain.changed" and self.brains is not None and data.get("brain") not in self.brains:
                raise _refuse("unknown_brain", index, event, f"brain {str(data.get('brain'))[:64]} is not installed here")
            self._fold(index, event)
        elif stream_id.startswith("agent:"):
            agent_id = stream_id.partition(":")[2]
            if agent_id not in self.agents:
                raise _refuse("invalid_event", index, event, f"agent {agent_id} was not spawned in {self.region} before it")
            if kind not in AGENT_TYPES:
                raise _refuse("invalid_event", index, event, f"{kind} does not belong in an agent stream")
            if kind in COMMAND_TYPES:
                self._command(index, event, agent_id)
            elif kind in ("agent.paused", "agent.resumed"):
                self.agents[agent_id]["status"] = "paused" if kind == "agent.paused" else "active"
        else:
            raise _refuse("invalid_event", index, event,
                          f"only {self.world_stream} and its agents' streams belong in this log")
        if self.actors is not None and actor not in self.actors and not (
                actor.startswith("agent:") and actor.partition(":")[2] in self.agents):
            raise _refuse("actor_not_allowed", index, event,
                          f"actor {actor} may not appear in a log imported here", actor=actor[:160])
        if data.get("region", self.region) != self.region:
            raise _refuse("invalid_event", index, event, f"it names region {str(data.get('region'))[:64]}")

    def _fold(self, index: int, event: dict) -> None:
        try:
            PROJECTIONS["world"].in_place(self.world, event)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise _refuse("invalid_event", index, event,
                          f"the world cannot take it ({type(exc).__name__}: {exc})"[:300]) from None
        self.world_events += 1

    def _created(self, index: int, event: dict) -> None:
        data = event["data"]
        tiles = data.get("tiles")
        valid = (data.get("region") == self.region and type(data.get("seed")) is int
                 and _is_int(data.get("width"), 1) and _is_int(data.get("height"), 1)
                 and isinstance(tiles, dict) and isinstance(tiles.get("terrain"), str)
                 and isinstance(tiles.get("amounts"), list)
                 and len(tiles["terrain"]) == len(tiles["amounts"]) == data["width"] * data["height"]
                 and all(type(n) is int for n in tiles["amounts"]))
        if not valid:
            raise _refuse("invalid_event", index, event, "world.created does not describe this region")

    def _spawned(self, index: int, event: dict) -> None:
        data = event["data"]
        agent_id = data.get("agentId")
        if not isinstance(agent_id, str) or not STREAM_ID_RE.match(f"agent:{agent_id}"):
            raise _refuse("invalid_event", index, event, "agent.spawned names no valid agent id")
        if agent_id in self.agents:
            raise _refuse("invalid_event", index, event, f"agent {agent_id} is spawned twice")
        brain, name, owner = data.get("brain"), data.get("name"), data.get("owner")
        x, y = data.get("x"), data.get("y")
        if not (isinstance(brain, str) and 0 < len(brain) <= 64 and isinstance(name, str) and 0 < len(name) <= 100
                and (owner is None or isinstance(owner, str))
                and _is_int(x, 0) and _is_int(y, 0) and x < self.world["width"] and y < self.world["height"]):
            raise _refuse("invalid_event", index, event,
                          "agent.spawned needs a name, a brain and a tile of the region")
        if self.brains is not None and brain not in self.brains:
            raise _refuse("unknown_brain", index, event, f"brain {brain[:64]!r} is not installed here",
                          brain=brain[:64])
        self.agents[agent_id] = {"name": name, "brain": brain, "status": "active", "spawnedAt": index}

    def _command(self, index: int, event: dict, agent_id: str) -> None:
        data = event["data"]
        if not _is_int(data.get("appliesAtTick"), 1) or not isinstance(data.get("action"), dict):
            raise _refuse("invalid_event", index, event, f"{event['type']} needs appliesAtTick and an action")
        self.commands.append({"agentId": agent_id, "appliesAtTick": data["appliesAtTick"], "action": data["action"],
                              "source": COMMAND_TYPES[event["type"]], "eventId": event["id"],
                              "actor": event["metadata"]["actor"]})

    def _replay(self, index: int, event: dict) -> None:
        kind, data = event["type"], event["data"]
        if kind == "agent.action.submitted":
            key = f"{data.get('region')}|{data.get('tick')}"
            if not _is_int(data.get("tick"), self.last_tick + 1):
                raise _refuse("replay_divergence", index, event,
                              f"a decision for tick {str(data.get('tick'))[:20]}, after tick {self.last_tick} was recorded")
            self.decided.setdefault(key, (index, event))
        elif kind in OUTCOMES:
            self.since_tick.append((index, event))
        elif kind == "world.tick.completed":
            if data.get("tick") != self.last_tick + 1:
                raise _refuse("replay_divergence", index, event, f"tick {self.last_tick + 1} was expected")
            self.decided.pop(f"{self.region}|{data['tick']}", None)
        elif kind == "world.ticks.skipped":
            start, end = data.get("fromTick"), data.get("toTick")
            if start != self.last_tick + 1 or not _is_int(end, start) or self.since_tick:
                raise _refuse("replay_divergence", index, event,
                              f"a skipped range must start at tick {self.last_tick + 1}, between ticks")
        try:
            completed, divergence = self.replayer.feed(event["streamId"], kind, data)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise _refuse("replay_divergence", index, event, f"it cannot be replayed ({type(exc).__name__}: {exc})"[:300]) from None
        if kind == "world.ticks.skipped":
            self.last_tick = data["toTick"]
        if not completed:
            return
        outcomes, self.since_tick = self.since_tick, []
        if divergence is not None:
            at = divergence.index
            bad_index, bad_event = outcomes[at] if at is not None and at < len(outcomes) else (index, event)
            raise _refuse("replay_divergence", bad_index, bad_event,
                          f"tick {divergence.tick} does not re-evaluate to what was recorded: {divergence.detail}"[:600],
                          tick=divergence.tick)
        self.last_tick = data["tick"]
        self.ticks += 1

    def finish(self, events: list[dict]) -> VerifiedLog:
        if not self.world_events:
            raise LogRefused("invalid_event", f"The log has no {self.world_stream} stream.", streamId=self.world_stream)
        if self.since_tick:
            index, event = self.since_tick[0]
            raise _refuse("replay_divergence", index, event, "an outcome after the last completed tick")
        if self.decided:
            index, event = min(self.decided.values(), key=lambda item: item[0])
            raise _refuse("replay_divergence", index, event, "a decision that no recorded tick evaluated")
        world = PROJECTIONS["world"].freeze(self.world)
        pending = [c for c in self.commands if c["appliesAtTick"] > world["tick"]]
        return VerifiedLog(region=self.region, seed=world["seed"], width=world["width"], height=world["height"],
                           events=events, world=world, last_tick=world["tick"], ticks=self.ticks,
                           agents=self.agents, pending=pending)


def verify(region: str, events: list, seals: list, *, actors: set[str] | None = None,
           brains: set[str] | None = None) -> VerifiedLog:
    """Verify a parsed log; return what it holds or raise LogRefused at the first bad event.

    `actors` (when given) are the only actors besides the log's own agents that may appear;
    `brains` (when given) are the only brains its agents may use.
    """
    verifier = _Verifier(region, actors=actors, brains=brains)
    for index, event in enumerate(events):
        _check_shape(index, event)
        verifier.check(index, event, seals[index])
    return verifier.finish(events)


def load(raw: bytes | str, *, max_events: int | None = None, actors: set[str] | None = None,
         brains: set[str] | None = None) -> VerifiedLog:
    """Parse and verify a log file; raise LogRefused naming the first place that does not hold."""
    region, events, seals = parse(raw, max_events=max_events)
    return verify(region, events, seals, actors=actors, brains=brains)
