"""Writes of capabilities: grants, performing a request, recording its one result, the sweep."""

from __future__ import annotations

import logging
import time
import uuid

from django.conf import settings
from django.db import connection, transaction

from events.projections import load_state
from events.store import ANY, EventIdConflict, NewEvent, event_exists, record
from selfplay.canonical import canonical_json
from selfplay.world import ledger

from ..models import Agent, Region
from . import registry, tick
from .base import ERROR, INVALID, UNAVAILABLE, CapabilityFailed, Request
from .blobs import put_blob

logger = logging.getLogger(__name__)
_RESULT_NAMESPACE = uuid.UUID("6f1c0000-5e1f-4a1a-9000-00000000ca9b")


@transaction.atomic
def grant_capabilities(*, agent_id: str, grants: list[str], actor: str) -> bool:
    """Set the capabilities an agent may use; record `agent.capabilities.granted` if they changed."""
    agent = Agent.objects.select_for_update().get(id=agent_id)
    wanted = sorted(set(grants))
    bad = [name for name in wanted if type(name) is not str or not name]
    if bad:
        raise ValueError(f"capability names must be non-empty strings: {bad!r}")
    state, _ = load_state("agents", agent.region_id, shared=True)
    recorded = ((state["agents"].get(agent_id) or {}).get("capabilities") or {}).get("grants", [])
    agent.capability_grants = wanted
    agent.save(update_fields=["capability_grants"])
    if recorded == wanted:
        return False
    record([(agent.stream_id, [NewEvent(ledger.GRANTED, {
        "agentId": agent.id, "region": agent.region_id, "grants": wanted, "previous": recorded},
        {"actor": actor})], ANY)])
    return True


def result_event_id(request_id: str) -> str:
    """Return the id of a request's one result event: a second result is refused by the store."""
    return str(uuid.uuid5(_RESULT_NAMESPACE, f"result:{request_id}"))


def perform(request: dict) -> str:
    """Perform one recorded request outside any transaction and record its result; return what
    happened: "completed", "failed:<code>", "already recorded" or "not pending".

    `request` is the data of its `capability.requested` event. Run again for the same request
    (a redelivered task), a plugin's effect happens at most once where the plugin keys it by
    the request id (post, notify), and only the first result is ever recorded.
    """
    if _in_transaction():
        raise RuntimeError("capabilities are performed outside any database transaction")
    request_id = request["requestId"]
    if event_exists(result_event_id(request_id)):
        return "already recorded"
    # The message only names the request: what is performed is what the log holds pending, so
    # a message the log does not back (a stale queue, another deployment's broker) does nothing.
    recorded = pending_request(region_id=request.get("region"), agent_id=request.get("agentId"),
                               request_id=request_id)
    if recorded is None:
        logger.warning("capability request %s is not pending in the log: not performed", request_id)
        return "not pending"
    request = recorded
    entry = registry.plugin(request["capability"])
    outcome: dict
    if not entry.available:
        outcome = {"code": UNAVAILABLE}
    else:
        outcome = _run(entry.plugin, Request(request_id=request_id, agent_id=request["agentId"],
                                             region=request["region"], capability=request["capability"],
                                             args=request.get("args") or {}))
    _test_only_pause_before_result(request["capability"], request_id)
    return record_result(request, outcome)


def _in_transaction() -> bool:
    # The atomic blocks Django's TestCase wraps each test in are no caller's transaction.
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _run(plugin, request: Request) -> dict:
    try:
        result = plugin.perform(request)
        if not isinstance(result, dict):
            raise CapabilityFailed(INVALID, f"{type(plugin).__name__}.perform returned {type(result).__name__}")
        text = canonical_json(result)
    except CapabilityFailed as failure:
        logger.info("capability %s request %s failed: %s", request.capability, request.request_id, failure.code)
        return {"code": failure.code}
    except Exception as exc:
        # Only the exception's type: its text may carry what the plugin was handling (a credential).
        logger.error("capability %s request %s raised %s", request.capability, request.request_id,
                     type(exc).__name__)
        return {"code": ERROR}
    if len(text) > settings.SELFPLAY_CAPABILITY_INLINE_MAX_CHARS:
        data = text.encode()
        return {"blobHash": put_blob(data), "size": len(data)}
    return {"result": result}


def record_result(request: dict, outcome: dict) -> str:
    """Record `capability.completed` or `capability.failed` for a request, once."""
    kind = ledger.FAILED if "code" in outcome else ledger.COMPLETED
    data = {"requestId": request["requestId"], "capability": request["capability"], "agentId": request["agentId"],
            "region": request["region"], "tick": request["tick"], **outcome}
    event = NewEvent(kind, data, {"actor": "system", "causationId": request["requestId"]},
                     id=result_event_id(request["requestId"]))
    try:
        record([(f"agent:{request['agentId']}", [event], ANY)])
    except EventIdConflict:
        logger.warning("capability request %s: a result is already recorded; this one is dropped",
                       request["requestId"])
        return "already recorded"
    return "completed" if kind == ledger.COMPLETED else f"failed:{outcome['code']}"


def pending_request(*, region_id, agent_id, request_id: str) -> dict | None:
    """Return a request as the log holds it while it waits for its result, else None."""
    if not (isinstance(region_id, str) and isinstance(agent_id, str)):
        return None
    agents, _ = load_state("agents", region_id, shared=True)
    entry = agents["agents"].get(agent_id) or {}
    for result in ledger.pending(entry.get("capabilities")):
        if result["requestId"] == request_id:
            return _request(result, agent_id=agent_id, region_id=region_id)
    return None


def _request(result: dict, *, agent_id: str, region_id: str) -> dict:
    return {"requestId": result["requestId"], "capability": result["capability"], "agentId": agent_id,
            "region": region_id, "tick": result["tick"], "args": result["args"]}


def sweep(*, older_than_ticks: int | None = None) -> int:
    """Send again every request still pending `older_than_ticks` after it was made; return how many."""
    older = settings.SELFPLAY_CAPABILITY_RETRY_AFTER_TICKS if older_than_ticks is None else older_than_ticks
    again = []
    for region_id in Region.objects.order_by("id").values_list("id", flat=True):
        world_state, _ = load_state("world", region_id, shared=True)
        agents, _ = load_state("agents", region_id, shared=True)
        for agent_id, entry in sorted(agents["agents"].items()):
            for result in ledger.pending(entry.get("capabilities")):
                if world_state["tick"] - result["tick"] >= older:
                    again.append(_request(result, agent_id=agent_id, region_id=region_id))
    tick.enqueue(again)
    return len(again)


def _test_only_pause_before_result(capability: str, request_id: str) -> None:
    """TEST-ONLY: with SELFPLAY_TEST_CAPABILITY_PAUSE_SECONDS > 0 (never in production), wait
    after the effect of a request (of SELFPLAY_TEST_CAPABILITY_PAUSE_ONLY, when set) and before
    its result is recorded, saying so in the log, so that a harness can kill the worker in
    between (tests/e2e/test_capabilities.py)."""
    only = settings.SELFPLAY_TEST_CAPABILITY_PAUSE_ONLY
    if settings.SELFPLAY_TEST_CAPABILITY_PAUSE_SECONDS > 0 and only in ("", capability):
        logger.warning("TEST-ONLY capability performed, result not recorded: %s request %s", capability, request_id)
        time.sleep(settings.SELFPLAY_TEST_CAPABILITY_PAUSE_SECONDS)
