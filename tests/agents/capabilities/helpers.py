"""Helpers of the capability tests: brains that use capabilities, and a synchronous worker."""

from __future__ import annotations

import pytest

from agents.brains.base import Brain
from agents.capabilities import services
from agents.capabilities.base import Capability
from events.models import Projection
from events.store import ANY, NewEvent, read_all, record


class Hasher(Brain):
    """Asks for the hash of its name every tick; says the digest once it has one."""

    def tick(self, agent, world_state):
        results = agent.capabilities.get("results") or []
        done = [r for r in results if r["status"] == "completed" and r["capability"] == "hash"]
        if done and done[-1]["tick"] == agent.tick - 1:
            return [{"type": "say", "text": f"digest {done[-1]['result']['sha256'][:16]}"}]
        return [{"type": "use", "capability": "hash", "args": {"blob": agent.name}}]


class Asker(Brain):
    """Uses the capability named in its plan (default: notify) every tick."""

    def tick(self, agent, world_state):
        name = (agent.plan or {}).get("capability", "notify")
        return [{"type": "use", "capability": name, "args": {"message": f"tick {agent.tick}"}}]


class CalledInReplay(Capability):
    """A plugin that fails the test if anything constructs or calls it."""

    def __init__(self, name):
        pytest.fail(f"capability plugin {name} was constructed")

    def perform(self, request):
        pytest.fail(f"capability plugin {self.name} was called")


class BrokenAtStart(Capability):
    def start(self):
        raise RuntimeError("no configuration for this plugin")

    def perform(self, request):
        raise AssertionError("never called")


TEST_BRAINS = {"hasher": f"{__name__}.Hasher", "asker": f"{__name__}.Asker"}


def capability_events(kind: str | None = None) -> list:
    """Return every capability event (or those of one type) in log order."""
    found, after = [], 0
    while batch := read_all(after=after, limit=1000):
        found += [e for e in batch if e.type.startswith("capability.") and (kind is None or e.type == kind)]
        after = batch[-1].global_position
    return found


def perform_pending() -> list[str]:
    """Do what the capability worker does for every request without a result; return outcomes."""
    finished = {e.data["requestId"] for e in capability_events() if e.type != "capability.requested"}
    return [services.perform(e.data) for e in capability_events("capability.requested")
            if e.data["requestId"] not in finished]


def record_request(request_id: str, capability: str, args: dict, *, agent_id: str = "ada", region_id: str = "hall",
                   tick: int = 1) -> dict:
    """Record a `capability.requested` as a tick would (granted, within budget); return its data."""
    data = {"requestId": request_id, "capability": capability, "agentId": agent_id, "region": region_id,
            "tick": tick, "args": args, "cost": 0, "budget": 0}
    record([(f"agent:{agent_id}", [NewEvent("capability.requested", data, {"actor": "system", "tick": tick})], ANY)])
    return data


def ledger_of(region_id: str, agent_id: str) -> dict:
    return Projection.objects.get(name="agents", key=region_id).state["agents"][agent_id]["capabilities"]


class Leaky(Capability):
    def perform(self, request):
        raise ValueError("token=s3cr3t")


HERE_BROKEN = f"{__name__}.BrokenAtStart"
