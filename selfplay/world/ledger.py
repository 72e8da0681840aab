"""An agent's capability ledger: grants, budget bucket and latest results. Pure, no Django.

The `agents` projection keeps one ledger per agent (`entry["capabilities"]`), folded from the
agent's stream: `agent.capabilities.granted`, `capability.requested`, `capability.completed`,
`capability.failed`. The budget is a bucket (as Screeps' CPU bucket): it refills by `refill`
per tick up to `cap`, and a request spends its cost. Only spends are recorded (with the budget
left), so the bucket at any tick is a function of the log and the tick number alone.
"""

from __future__ import annotations

GRANTED = "agent.capabilities.granted"
REQUESTED = "capability.requested"
COMPLETED = "capability.completed"
FAILED = "capability.failed"
TYPES = frozenset({GRANTED, REQUESTED, COMPLETED, FAILED})

RESULTS_KEPT = 8  # the latest requests an agent (and its brain) sees
# Older requests still pending are kept too (up to this many), so the sweep can send them again
# after a long worker outage.
PENDING_KEPT = 32


def empty() -> dict:
    return {"grants": [], "budget": None, "budgetTick": None, "spent": 0, "requests": 0, "results": []}


def available(ledger: dict | None, *, tick: int, cap: int, refill: int) -> int:
    """Return the budget an agent has at `tick`: what was left at its last spend, refilled."""
    if not ledger or ledger.get("budget") is None:
        return cap
    return min(cap, ledger["budget"] + refill * max(0, tick - ledger["budgetTick"]))


def apply(ledger: dict | None, kind: str, data: dict) -> dict:
    """Return the ledger after one capability event (a new dict; the input is not touched)."""
    ledger = empty() if ledger is None else {**ledger, "results": list(ledger["results"])}
    if kind == GRANTED:
        ledger["grants"] = sorted(set(data.get("grants") or []))
    elif kind == REQUESTED:
        ledger["budget"], ledger["budgetTick"] = data["budget"], data["tick"]
        ledger["spent"] += data["cost"]
        ledger["requests"] += 1
        _put(ledger, {"requestId": data["requestId"], "capability": data["capability"], "tick": data["tick"],
                      "status": "pending", "args": data["args"]})
    elif kind in (COMPLETED, FAILED):
        if kind == FAILED and data.get("tick") is not None and data["requestId"] not in _ids(ledger):
            ledger["requests"] += 1  # refused at the tick (not granted, over budget): never pending
        asked = next((r for r in ledger["results"] if r["requestId"] == data["requestId"]), None)
        result = {"requestId": data["requestId"], "capability": data.get("capability"), "tick": data.get("tick"),
                  "status": "completed" if kind == COMPLETED else "failed"}
        if asked is not None and "args" in asked:
            result["args"] = asked["args"]  # what was asked stays beside what came back
        for key in ("result", "blobHash", "size", "code"):
            if key in data:
                result[key] = data[key]
        _put(ledger, result)
    return ledger


def pending(ledger: dict | None) -> list[dict]:
    """Return the requests of a ledger still waiting for their result."""
    return [r for r in (ledger or empty())["results"] if r["status"] == "pending"]


def _ids(ledger: dict) -> set[str]:
    return {r["requestId"] for r in ledger["results"]}


def _put(ledger: dict, result: dict) -> None:
    results = [r for r in ledger["results"] if r["requestId"] != result["requestId"]]
    results.append(result)
    older = [r for r in results[:-RESULTS_KEPT] if r["status"] == "pending"][-PENDING_KEPT:]
    ledger["results"] = older + results[-RESULTS_KEPT:]
