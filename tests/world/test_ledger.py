"""The capability ledger: a pure reducer and a bucket that is a function of the log and the tick."""

from selfplay.world import ledger


def requested(tick: int, budget: int, rid: str = "r1", cost: int = 2) -> dict:
    return {"requestId": rid, "capability": "hash", "agentId": "ada", "region": "vale", "tick": tick,
            "args": {"blob": "x"}, "cost": cost, "budget": budget}


def test_a_new_agent_has_a_full_bucket_and_the_bucket_refills_to_its_cap():
    assert ledger.available(None, tick=7, cap=10, refill=1) == 10
    state = ledger.apply(None, ledger.REQUESTED, requested(4, 3))
    assert [ledger.available(state, tick=t, cap=10, refill=2) for t in (4, 5, 7, 100)] == [3, 5, 9, 10]


def test_results_replace_their_pending_request_keep_what_was_asked_and_only_the_latest_stay():
    state = ledger.apply(None, ledger.GRANTED, {"agentId": "ada", "grants": ["store", "hash", "hash"]})
    state = ledger.apply(state, ledger.REQUESTED, requested(1, 8))
    assert ledger.pending(state) == [{"requestId": "r1", "capability": "hash", "tick": 1, "status": "pending",
                                      "args": {"blob": "x"}}]
    after = ledger.apply(state, ledger.COMPLETED, {"requestId": "r1", "capability": "hash", "tick": 1,
                                                   "result": {"sha256": "ab"}})
    assert ledger.pending(state) != [] and ledger.pending(after) == []  # the input is untouched
    assert after["results"] == [{"requestId": "r1", "capability": "hash", "tick": 1, "status": "completed",
                                 "args": {"blob": "x"}, "result": {"sha256": "ab"}}]
    assert (after["grants"], after["spent"], after["requests"]) == (["hash", "store"], 2, 1)
    for n in range(2, 12):
        after = ledger.apply(after, ledger.FAILED, {"requestId": f"r{n}", "capability": "hash", "tick": n,
                                                    "code": "budget_exhausted", "budget": 0})
    assert [r["requestId"] for r in after["results"]] == [f"r{n}" for n in range(4, 12)]
    assert after["requests"] == 11


def test_an_old_request_still_pending_is_kept_for_the_sweep():
    state = ledger.apply(None, ledger.REQUESTED, requested(1, 8, rid="old"))
    for n in range(2, 12):
        state = ledger.apply(state, ledger.FAILED, {"requestId": f"r{n}", "capability": "hash", "tick": n,
                                                    "code": "not_granted", "budget": 8})
    assert [r["requestId"] for r in state["results"]] == ["old", *[f"r{n}" for n in range(4, 12)]]
    assert [r["requestId"] for r in ledger.pending(state)] == ["old"]
    done = ledger.apply(state, ledger.COMPLETED, {"requestId": "old", "capability": "hash", "tick": 1,
                                                  "result": {"sha256": "ab"}})
    assert [r["requestId"] for r in done["results"]][-1] == "old" and len(done["results"]) == 8
