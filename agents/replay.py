"""Replay verification: re-evaluate every recorded tick and compare with what was recorded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from events.store import read_all
from selfplay import world
from selfplay.canonical import canonical_json

OUTCOMES = {"agent.action.succeeded", "agent.action.failed"}


@dataclass(frozen=True)
class Divergence:
    region: str
    tick: int
    detail: str

    def __str__(self) -> str:
        return f"region {self.region} tick {self.tick}: {self.detail}"


@dataclass
class ReplayReport:
    ticks: int = 0
    events: int = 0
    divergence: Divergence | None = None


@dataclass
class _Region:
    state: dict
    pre: list
    outcomes: list


def _first_difference(expected: list, recorded: list) -> str:
    if len(expected) != len(recorded):
        return f"{len(recorded)} outcomes recorded, {len(expected)} on re-evaluation"
    for (kind, data), (rkind, rdata) in zip(expected, recorded, strict=True):
        if kind != rkind or canonical_json(data) != canonical_json(rdata):
            return (f"agent {rdata.get('agentId')}: recorded {rkind} {canonical_json(rdata)}, "
                    f"re-evaluated {kind} {canonical_json(data)}")
    return "outcomes differ"


def verify_recorded_ticks(*, progress: Callable[[int], None] | None = None, page: int = 5000) -> ReplayReport:
    """Re-evaluate each `world.tick.completed` from the recorded decisions, in one pass over the log.

    Decisions (`agent.action.submitted`) are appended before their tick's outcomes in the same
    transaction, so reading in global order always sees a tick's decisions first.
    """
    report = ReplayReport()
    regions: dict[str, _Region] = {}
    decisions: dict[tuple[str, int], dict[str, object]] = {}
    after = 0
    while batch := read_all(after=after, limit=page):
        after = batch[-1].global_position
        report.events += len(batch)
        for event in batch:
            kind, _, name = event.stream_id.partition(":")
            if kind == "agent" and event.type == "agent.action.submitted":
                key = (event.data["region"], event.data["tick"])
                decisions.setdefault(key, {})[name] = event.data["action"]
            elif kind == "world":
                region = regions.setdefault(name, _Region(world.initial_state("world", name), [], []))
                wire = {"type": event.type, "streamId": event.stream_id, "data": event.data}
                if event.type in OUTCOMES:
                    region.outcomes.append(wire)
                elif event.type == "world.tick.completed":
                    divergence = _check_tick(name, region, wire, decisions.pop((name, event.data["tick"]), {}))
                    report.ticks += 1
                    if divergence:
                        report.divergence = divergence
                        return report
                else:
                    region.pre.append(wire)
        if progress:
            progress(len(batch))
    return report


def _check_tick(name: str, region: _Region, completed: dict, decided: dict) -> Divergence | None:
    tick = completed["data"]["tick"]
    state = world.fold("world", region.state, region.pre)
    expected = world.evaluate_tick(state, decided, tick=tick, seed=world.tick_seed(state["seed"], tick))
    recorded = [(e["type"], e["data"]) for e in region.outcomes]
    if expected != recorded:
        return Divergence(name, tick, _first_difference(expected, recorded))
    state = world.fold("world", state, [*region.outcomes, completed])
    if world.world_checksum(state) != completed["data"]["checksum"]:
        return Divergence(name, tick, "world checksum after the tick differs from the recorded one")
    region.state, region.pre, region.outcomes = state, [], []
    return None
