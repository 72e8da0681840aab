"""Playerhood signals and anomaly detection over the log: pure maths, no Django (DESIGN §7).

`Analyzer` is fed events in global order as wire-shaped dicts and keeps all it knows in a JSON
state, so the follower can store it beside its position and resume exactly. It returns the
flags to raise and the signal updates to publish; it never changes what it reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from selfplay.world.replay import TickReplayer

WINDOW = 50                 # ticks per agent in the sliding window
MIN_TICKS_FOR_VERIFIED = 10
OVERRIDE_FLOOD = (5, 10)    # more than 5 overrides within 10 ticks
EMIT_EVERY_TICKS = 25       # refresh a stable agent's published signals this often
SCORE_STEP = 0.05           # ...or sooner when its score moves this much
WEIGHTS = {"agency": 0.3, "continuity": 0.4, "accountability": 0.3}


@dataclass
class Findings:
    flags: list[dict] = field(default_factory=list)     # {kind, subject, details}
    signals: list[dict] = field(default_factory=list)   # data of verification.signals.updated


def initial_state() -> dict:
    return {"streams": {}, "agents": {}, "regions": {}, "flagged": {}, "checkpoints": {},
            "replay": None, "pendingTicks": {}}


def percentile(values: list[float], p: float) -> float:
    """Return the p-th percentile (0..100) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[rank]


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Analyzer:
    def __init__(self, state: dict | None = None, *, jitter_threshold_ms: int | None = None) -> None:
        self.state = state or initial_state()
        self.replayer = TickReplayer(self.state["replay"])
        self.jitter_threshold_ms = jitter_threshold_ms

    def feed(self, events: list[dict]) -> Findings:
        findings = Findings()
        for event in events:
            self._feed_one(event, findings)
        self.state["replay"] = self.replayer.state
        return findings

    # --- per event ------------------------------------------------------------------------

    def _feed_one(self, e: dict, out: Findings) -> None:
        stream_id, kind = e["streamId"], e["streamId"].partition(":")[0]
        self._check_chain(e, out)
        if kind == "verification":
            if e["type"] == "verification.flag.resolved":
                subject = e["data"].get("subject", "")
                flagged = self.state["flagged"].get(subject, [])
                if e["data"].get("flagId") in flagged:
                    flagged.remove(e["data"]["flagId"])
                if not flagged:
                    self.state["flagged"].pop(subject, None)
            elif e["type"] == "verification.flag.raised":
                self.state["flagged"].setdefault(e["data"]["subject"], []).append(e["data"]["flagId"])
            return
        if stream_id == "system:checkpoints" and e["type"] == "checkpoint.created":
            self._check_checkpoint_lineage(e, out)
            return
        completed, divergence = self.replayer.feed(stream_id, e["type"], e["data"])
        if divergence:
            out.flags.append({"kind": "replay_divergence", "subject": f"world:{divergence.region}",
                              "details": {"tick": divergence.tick, "detail": divergence.detail}})
        if kind == "agent":
            self._agent_event(e, out)
        elif kind == "world":
            self._world_event(e, out)

    def _check_chain(self, e: dict, out: Findings) -> None:
        stream_id = e["streamId"]
        last = self.state["streams"].get(stream_id)
        if last is not None:
            position, head = last
            subject = stream_id  # a flag about agent:ada's stream marks agent:ada
            if e["position"] != position + 1:
                out.flags.append({"kind": "gap", "subject": subject, "details": {
                    "streamId": stream_id, "expected": position + 1, "found": e["position"]}})
            elif e["prevHash"] != head:
                out.flags.append({"kind": "chain_break", "subject": subject, "details": {
                    "streamId": stream_id, "position": e["position"]}})
        self.state["streams"][stream_id] = [e["position"], e["hash"]]

    def _check_checkpoint_lineage(self, e: dict, out: Findings) -> None:
        data = e["data"]
        stream_id, position = data.get("streamId"), data.get("position", 0)
        previous = self.state["checkpoints"].get(stream_id)
        if previous is not None and position < previous:
            out.flags.append({"kind": "checkpoint_lineage", "subject": stream_id, "details": {
                "streamId": stream_id, "previous": previous, "found": position}})
        self.state["checkpoints"][stream_id] = max(position, previous or 0)

    # --- agents ---------------------------------------------------------------------------

    def _agent(self, agent_id: str) -> dict:
        return self.state["agents"].setdefault(agent_id, {
            "region": None, "x": None, "y": None, "status": "active", "window": [],
            "current": {}, "overrideTicks": [], "lastEmitted": None, "lastEmittedTick": 0})

    def _agent_event(self, e: dict, out: Findings) -> None:
        agent_id = e["streamId"].partition(":")[2]
        agent, data, meta = self._agent(agent_id), e["data"], e["metadata"]
        if e["type"] == "agent.action.submitted":
            tick = data.get("tick")
            key = f"{data.get('region')}|{tick}"
            record = self.state["pendingTicks"].setdefault(key, {}).setdefault(
                agent_id, {"decisions": 0, "source": None, "attributable": True, "reasoned": None})
            record["decisions"] += 1
            record["source"] = data.get("source")
            # A second decision for a tick, or one for a tick already decided and closed.
            late = isinstance(tick, int) and tick <= agent.get("lastDecisionTick", 0) and record["decisions"] == 1
            if record["decisions"] == 2 or late:
                out.flags.append({"kind": "double_decision", "subject": f"agent:{agent_id}",
                                  "details": {"tick": tick, "region": data.get("region")}})
            if isinstance(tick, int):
                agent["lastDecisionTick"] = max(tick, agent.get("lastDecisionTick", 0))
            actor = meta.get("actor", "")
            expected_prefix = "agent:" if data.get("source") in ("brain", "external") else ("player:", "operator:")
            if not actor.startswith(expected_prefix):
                record["attributable"] = False
        elif e["type"] == "player.override.submitted":
            reasoned = bool((data.get("reason") or "").strip())
            authenticated = meta.get("actor", "").startswith(("player:", "operator:"))
            key = f"{data.get('region')}|{data.get('appliesAtTick')}"
            record = self.state["pendingTicks"].setdefault(key, {}).setdefault(
                agent_id, {"decisions": 0, "source": None, "attributable": True, "reasoned": None})
            record["reasoned"] = reasoned and authenticated
            ticks = agent["overrideTicks"] = [*agent["overrideTicks"], data.get("appliesAtTick", 0)][-20:]
            limit, span = OVERRIDE_FLOOD
            recent = [t for t in ticks if t > ticks[-1] - span]
            if len(recent) == limit + 1:
                out.flags.append({"kind": "override_flood", "subject": f"agent:{agent_id}",
                                  "details": {"overrides": len(recent), "withinTicks": span,
                                              "lastActor": meta.get("actor")}})

    # --- regions and ticks ----------------------------------------------------------------

    def _world_event(self, e: dict, out: Findings) -> None:
        region_id = e["streamId"].partition(":")[2]
        data = e["data"]
        region = self.state["regions"].setdefault(region_id, {
            "epoch": None, "tickSeconds": None, "lateness": [], "late": False, "lastTick": 0})
        if e["type"] in ("world.created", "world.imported"):
            # An imported region keeps its cadence from the import on (its earlier ticks were
            # recorded elsewhere); a local world's `world.created` carries none.
            region["epoch"], region["tickSeconds"] = data.get("epoch"), data.get("tickSeconds")
            region["lateness"], region["late"] = [], False
        elif e["type"] == "agent.spawned":
            agent = self._agent(data["agentId"])
            agent.update(region=region_id, x=data["x"], y=data["y"])
        elif e["type"] in ("agent.paused", "agent.resumed"):
            self._agent(data["agentId"])["status"] = "paused" if e["type"] == "agent.paused" else "active"
        elif e["type"] in ("agent.action.succeeded", "agent.action.failed"):
            self._outcome(region_id, data, out)
        elif e["type"] == "world.ticks.skipped":
            out.flags.append({"kind": "missed_ticks", "subject": f"world:{region_id}", "details": {
                "fromTick": data.get("fromTick"), "toTick": data.get("toTick"), "skipped": True}})
        elif e["type"] == "world.tick.completed":
            self._tick_completed(region_id, region, e, out)

    def _outcome(self, region_id: str, data: dict, out: Findings) -> None:
        agent_id, effects, action = data["agentId"], data.get("effects") or {}, data.get("action") or {}
        agent = self._agent(agent_id)
        record = self.state["pendingTicks"].setdefault(f"{region_id}|{data.get('tick')}", {}).setdefault(
            agent_id, {"decisions": 0, "source": None, "attributable": True, "reasoned": None})
        record["valid"] = data.get("reason") != "invalid_action"
        if "x" in effects and agent["x"] is not None:
            jump = max(abs(effects["x"] - agent["x"]), abs(effects["y"] - agent["y"]))
            if jump > 1 or (action.get("type") == "move" and max(abs(action.get("dx", 0)), abs(action.get("dy", 0))) > 1):
                out.flags.append({"kind": "impossible_move", "subject": f"agent:{agent_id}", "details": {
                    "tick": data.get("tick"), "from": [agent["x"], agent["y"]], "to": [effects["x"], effects["y"]]}})
        if "x" in effects:
            agent["x"], agent["y"] = effects["x"], effects["y"]

    def _tick_completed(self, region_id: str, region: dict, e: dict, out: Findings) -> None:
        tick = e["data"]["tick"]
        region["lastTick"] = tick
        if region["epoch"] and region["tickSeconds"] and e.get("recordedAt"):
            due = _parse_time(region["epoch"]).timestamp() + tick * region["tickSeconds"]
            lateness_ms = max(0, round((_parse_time(e["recordedAt"]).timestamp() - due) * 1000))
            interval_ms = region["tickSeconds"] * 1000
            # Ticks fire at their due moments (agents/beat.py): one recorded a whole interval or
            # more after it was due ran after its successor was due, so it was caught up.
            if lateness_ms >= interval_ms:
                if not region["late"]:
                    out.flags.append({"kind": "missed_ticks", "subject": f"world:{region_id}", "details": {
                        "tick": tick, "latenessMs": lateness_ms, "caughtUp": True}})
                region["late"] = True
            else:
                # Jitter is the spread of the ticks that ran on time; caught-up ones are missed
                # ticks already, and would otherwise count twice.
                region["late"] = False
                region["lateness"] = [*region["lateness"], lateness_ms][-WINDOW:]
                threshold = self.jitter_threshold_ms or interval_ms // 2
                recent = region["lateness"][-10:]
                spread = percentile(recent, 99) - percentile(recent, 50)
                if len(recent) == 10 and spread > threshold and not region.get("jittery"):
                    out.flags.append({"kind": "cadence_jitter", "subject": f"world:{region_id}", "details": {
                        "tick": tick, "p50Ms": percentile(recent, 50), "p99Ms": percentile(recent, 99),
                        "thresholdMs": threshold}})
                    region["jittery"] = True
                elif spread <= threshold:
                    region["jittery"] = False
        records = self.state["pendingTicks"].pop(f"{region_id}|{tick}", {})
        for agent_id, agent in self.state["agents"].items():
            if agent["region"] != region_id:
                continue
            record = records.get(agent_id)
            if agent["status"] != "active" and record is None:
                continue
            entry = {"t": tick, "d": record["decisions"] if record else 0,
                     "own": bool(record and record["source"] in ("brain", "external") and record.get("valid", True)),
                     "attr": bool(record is None or record["attributable"]),
                     "rsn": record["reasoned"] if record else None}
            agent["window"] = [*agent["window"], entry][-WINDOW:]
            self._maybe_emit(agent_id, agent, region_id, tick, out)

    def _maybe_emit(self, agent_id: str, agent: dict, region_id: str, tick: int, out: Findings) -> None:
        signals = score_window(agent["window"], flagged=bool(self.state["flagged"].get(f"agent:{agent_id}")))
        last = agent["lastEmitted"]
        due = (last is None or signals["status"] != last["status"]
               or abs(signals["score"] - last["score"]) >= SCORE_STEP
               or tick - agent["lastEmittedTick"] >= EMIT_EVERY_TICKS)
        if due:
            agent["lastEmitted"], agent["lastEmittedTick"] = signals, tick
            out.signals.append({"agentId": agent_id, "region": region_id, "tick": tick, **signals})


def score_window(window: list[dict], *, flagged: bool) -> dict:
    """Return agency, continuity, accountability, score and status of one agent's window."""
    expected = len(window)
    if expected == 0:
        return {"agency": 0.0, "continuity": 0.0, "accountability": 0.0, "score": 0.0,
                "status": "suspect" if flagged else "provisional", "window": 0}
    agency = sum(1 for w in window if w["own"]) / expected
    continuity = sum(1 for w in window if w["d"] == 1) / expected
    attributable = sum(1 for w in window if w["attr"]) / expected
    overrides = [w["rsn"] for w in window if w["rsn"] is not None]
    reasoned = (sum(1 for r in overrides if r) / len(overrides)) if overrides else 1.0
    accountability = attributable * reasoned
    score = round(agency * WEIGHTS["agency"] + continuity * WEIGHTS["continuity"]
                  + accountability * WEIGHTS["accountability"], 4)
    if flagged or score < 0.5:
        status = "suspect"
    elif expected < MIN_TICKS_FOR_VERIFIED or score < 0.8:
        status = "provisional"
    else:
        status = "verified"
    return {"agency": round(agency, 4), "continuity": round(continuity, 4),
            "accountability": round(accountability, 4), "score": score, "status": status, "window": expected}

