"""The tick's part of capabilities: what a brain sees, and turning `use` outcomes into requests.

Runs inside the tick's transaction and does no slow work: grants and the budget come from the
agents projection (the log), a plugin's availability from the registry in memory. Requests are
performed after the tick commits (`enqueue_after_commit`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from celery import current_app
from django.conf import settings
from django.db import transaction

from events.projections import load_state
from events.store import NewEvent
from selfplay.world import SUCCEEDED, ledger

from . import registry
from .base import BUDGET_EXHAUSTED, NOT_GRANTED, UNAVAILABLE

logger = logging.getLogger(__name__)
_REQUEST_NAMESPACE = uuid.UUID("6f1c0000-5e1f-4a1a-9000-00000000ca9a")


def request_id_for(decision_event_id: str) -> str:
    """Return the request id of a `use` decision: derived from the decision's event id, so one
    decision is one request, whoever records it how often."""
    return str(uuid.uuid5(_REQUEST_NAMESPACE, f"request:{decision_event_id}"))


def budget_settings() -> tuple[int, int]:
    return settings.SELFPLAY_CAPABILITY_BUDGET_CAP, settings.SELFPLAY_CAPABILITY_BUDGET_REFILL


def ledgers(region_id: str) -> dict[str, dict]:
    """Return each agent's capability ledger in a region (agents without one are absent)."""
    state, _ = load_state("agents", region_id, shared=True)
    return {aid: entry["capabilities"] for aid, entry in state["agents"].items() if entry.get("capabilities")}


def observation(entry: dict | None, *, tick: int) -> dict:
    """Return what a brain sees of its ledger at `tick`: budget now, grants, latest results."""
    cap, refill = budget_settings()
    entry = entry or ledger.empty()
    return {"budget": ledger.available(entry, tick=tick, cap=cap, refill=refill),
            "grants": list(entry["grants"]),
            "results": [dict(r) for r in entry["results"]]}


def observer(ledgers_now: dict[str, dict], *, tick: int) -> Callable[[str], dict]:
    """Return agent id -> its observation at `tick`; agents without a ledger share one (read-only)."""
    empty = observation(None, tick=tick)

    def observe(agent_id: str) -> dict:
        entry = ledgers_now.get(agent_id)
        return empty if entry is None else observation(entry, tick=tick)

    return observe


def requests_of_tick(*, region_id: str, tick: int, outcomes: list[tuple[str, dict]], decision_ids: dict[str, str],
                     ledgers_now: dict[str, dict], correlation: str) -> tuple[dict[str, list[NewEvent]], list[dict]]:
    """Return (per agent, the capability events of this tick; the requests to perform).

    Each succeeded `use` becomes `capability.requested` (spending its cost from the bucket), or
    at once `capability.failed` when the capability is not granted, not installed, or costs more
    than the bucket holds: a failure outcome, never an error, and the world ticks on.
    """
    cap, refill = budget_settings()
    events: dict[str, list[NewEvent]] = {}
    to_perform = []
    for kind, outcome in outcomes:
        action = outcome["action"]
        if kind != SUCCEEDED or action.get("type") != "use":
            continue
        agent_id, name = outcome["agentId"], action["capability"]
        entry = ledgers_now.get(agent_id)
        request_id = request_id_for(decision_ids[agent_id])
        base = {"requestId": request_id, "capability": name, "agentId": agent_id, "region": region_id, "tick": tick}
        metadata = {"actor": "system", "tick": tick, "correlationId": correlation,
                    "causationId": decision_ids[agent_id]}
        budget = ledger.available(entry, tick=tick, cap=cap, refill=refill)
        cost = registry.cost_of(name)
        if name not in (entry or {}).get("grants", ()):
            code = NOT_GRANTED
        elif not registry.plugin(name).available:
            code = UNAVAILABLE
        elif cost > budget:
            code = BUDGET_EXHAUSTED
        else:
            code = None
        if code is not None:
            events[agent_id] = [NewEvent(ledger.FAILED, {**base, "code": code, "budget": budget}, metadata)]
            continue
        data = {**base, "args": action.get("args", {}), "cost": cost, "budget": budget - cost}
        events[agent_id] = [NewEvent(ledger.REQUESTED, data, metadata)]
        to_perform.append(data)
    return events, to_perform


def enqueue_after_commit(requests: list[dict]) -> None:
    """Send each request to the capabilities queue once the tick's transaction commits."""
    if requests:
        transaction.on_commit(lambda: enqueue(requests))


PERFORM_TASK = "agents.perform_capability"


def enqueue(requests: list[dict]) -> None:
    """Send requests to the capabilities queue (CELERY_TASK_ROUTES routes the task by name)."""
    for request in requests:
        try:
            current_app.send_task(PERFORM_TASK, (request,))
        except Exception:
            # A broker outage must not fail a committed tick: the sweep sends it again later.
            logger.exception("capability request %s could not be queued; the sweep will retry",
                             request["requestId"])
