"""Reads of capabilities: an agent's ledger as its page and `GET .../capabilities` show it."""

from __future__ import annotations

from events.projections import load_state
from selfplay.errors import Refused
from selfplay.world import ledger

from ..models import Agent, Notification
from . import registry
from .tick import budget_settings

NOTIFICATIONS_SHOWN = 20


def agent_capabilities(*, region_id: str, agent_id: str, user) -> dict:
    """Return an agent's grants, budget now (and its cap and refill), spend, latest results and,
    for its owner or an operator, its latest notifications; raise Refused("not_found")."""
    agent = Agent.objects.filter(id=agent_id, region_id=region_id).values("owner_id").first()
    if agent is None:
        raise Refused("not_found", f"Region {region_id} has no agent {agent_id}.",
                      {"region": region_id, "agentId": agent_id})
    agents, _ = load_state("agents", region_id, shared=True)
    world, _ = load_state("world", region_id, shared=True)
    entry = (agents["agents"].get(agent_id) or {}).get("capabilities") or ledger.empty()
    cap, refill = budget_settings()
    tick = world["tick"]
    mine = bool(user and user.is_authenticated and (user.is_staff or user.pk == agent["owner_id"]))
    notes = None
    if mine:
        notes = [{"id": n.id, "requestId": n.request_id, "message": n.message, "createdAt": n.created_at}
                 for n in Notification.objects.filter(agent_id=agent_id)[:NOTIFICATIONS_SHOWN]]
    costs = {s["name"]: s["cost"] for s in registry.statuses()}
    return {
        "agentId": agent_id, "region": region_id, "tick": tick, "grants": list(entry["grants"]),
        "budget": ledger.available(entry, tick=tick, cap=cap, refill=refill), "budgetCap": cap,
        "refillPerTick": refill, "spent": entry["spent"], "requests": entry["requests"],
        "costs": {name: costs.get(name, registry.cost_of(name)) for name in sorted(set(costs) | set(entry["grants"]))},
        "results": [{key: value for key, value in r.items() if key != "args"} for r in reversed(entry["results"])],
        "notifications": notes,
    }
