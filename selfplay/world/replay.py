"""Re-evaluating recorded ticks: recorded decisions in, recorded outcomes compared.

`TickReplayer` is fed the log in global order (wire-shaped: stream id, type, data). Decisions
(`agent.action.submitted`) are appended before their tick's outcomes in the same transaction, so
by the time `world.tick.completed` arrives every decision of that tick has been seen. Its state
is plain JSON, so a follower can store it with its position and resume.
"""

from __future__ import annotations

from dataclasses import dataclass

from selfplay.canonical import canonical_json, json_values_text

from .evaluate import evaluate_tick
from .projections import fold, initial_state, world_checksum
from .seeds import tick_seed

OUTCOMES = frozenset({"agent.action.succeeded", "agent.action.failed"})


@dataclass(frozen=True)
class Divergence:
    region: str
    tick: int
    detail: str
    # Which of the tick's recorded outcomes is the first to differ (None: the checksum after it).
    index: int | None = None

    def __str__(self) -> str:
        return f"region {self.region} tick {self.tick}: {self.detail}"


def _first_index(expected: list, recorded: list) -> int:
    for i, (want, got) in enumerate(zip(expected, recorded, strict=False)):
        if want[0] != got[0] or canonical_json(want[1]) != canonical_json(got[1]):
            return i
    return min(len(expected), len(recorded))


def _first_difference(expected: list, recorded: list) -> str:
    if len(expected) != len(recorded):
        return f"{len(recorded)} outcomes recorded, {len(expected)} on re-evaluation"
    for (kind, data), (rkind, rdata) in zip(expected, recorded, strict=True):
        if kind != rkind or canonical_json(data) != canonical_json(rdata):
            return (f"agent {rdata.get('agentId')}: recorded {rkind} {canonical_json(rdata)}, "
                    f"re-evaluated {kind} {canonical_json(data)}")
    return "outcomes differ"


class TickReplayer:
    """Check each recorded tick against a re-evaluation of its recorded decisions."""

    def __init__(self, state: dict | None = None) -> None:
        # regions: name -> {"world": state, "pre": [events], "outcomes": [events]};
        # decisions: "region|tick" -> {agentId: action}
        self.state = state or {"regions": {}, "decisions": {}}

    def feed(self, stream_id: str, type_: str, data: dict) -> tuple[bool, Divergence | None]:
        """Take one event; return (was it a tick completion, the divergence found if any)."""
        kind, _, name = stream_id.partition(":")
        if kind == "agent" and type_ == "agent.action.submitted":
            key = f"{data.get('region')}|{data.get('tick')}"
            self.state["decisions"].setdefault(key, {})[name] = data.get("action")
            return False, None
        if kind != "world":
            return False, None
        region = self.state["regions"].setdefault(
            name, {"world": initial_state("world", name), "pre": [], "outcomes": []})
        event = {"type": type_, "streamId": stream_id, "data": data}
        if type_ in OUTCOMES:
            region["outcomes"].append(event)
            return False, None
        if type_ != "world.tick.completed":
            region["pre"].append(event)
            return False, None
        decided = self.state["decisions"].pop(f"{name}|{data['tick']}", {})
        return True, self._check(name, region, event, decided)

    def _check(self, name: str, region: dict, completed: dict, decided: dict) -> Divergence | None:
        tick = completed["data"]["tick"]
        before = fold("world", region["world"], region["pre"])
        expected = evaluate_tick(before, decided, tick=tick, seed=tick_seed(before["seed"], tick))
        recorded = [(e["type"], e["data"]) for e in region["outcomes"]]
        after = fold("world", before, [*region["outcomes"], completed])
        region["world"], region["pre"], region["outcomes"] = after, [], []
        if json_values_text(expected) != json_values_text(recorded):
            return Divergence(name, tick, _first_difference(expected, recorded), _first_index(expected, recorded))
        if world_checksum(after) != completed["data"]["checksum"]:
            return Divergence(name, tick, "world checksum after the tick differs from the recorded one")
        return None
