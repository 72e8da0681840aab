"""examples/external_agent.py without a server: how it answers each kind of reply and notice.

The e2e test (tests/e2e/test_external_agent.py) plays it against the real daemon; these pin
down the paths a healthy run rarely takes: refusals, conflicts, rate limits, gaps, notices.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys

import pytest

from tests.support.aio import run_async
from tests.support.databases import REPO

_spec = importlib.util.spec_from_file_location("external_agent", REPO / "examples" / "external_agent.py")
external_agent = importlib.util.module_from_spec(_spec)
sys.modules["external_agent"] = external_agent  # dataclasses look their module up there
_spec.loader.exec_module(external_agent)


class FakeApi:
    """Answers POST /command with the given (status, body, retry_after) replies, in order."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.sent: list[tuple[str, dict, int]] = []

    async def decide(self, agent_id, action, tick):
        self.sent.append((agent_id, action, tick))
        return self.replies.pop(0)


def player(api, ticks=None) -> external_agent.Player:
    agent = external_agent.Agent("ada", "meadow", x=3, y=4, energy=80, rng=random.Random(1))
    return external_agent.Player(url="http://127.0.0.1:1", agent=agent, api=api, ticks=ticks)


def accepted(tick: int) -> tuple[int, dict, float]:
    return 202, {"accepted": True, "eventId": f"e-{tick}", "appliesAtTick": tick + 1}, 0.0


def refused(status: int, code: str, retry_after: float = 0.0, **details) -> tuple[int, dict, float]:
    return status, {"error": {"code": code, "message": code, "details": details}}, retry_after


def test_an_accepted_decision_is_printed_and_counted_once_per_tick(capsys):
    api = FakeApi(accepted(5))
    p = player(api, ticks=3)

    assert run_async(p.on_tick(5)) is True
    assert run_async(p.on_tick(5)) is False  # the same heartbeat again (a resync): no second decision
    assert run_async(p.on_tick(4)) is False  # an older one: none either

    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line) == {"tick": 5, "appliesAtTick": 6, "eventId": "e-5", "action": api.sent[0][1]}
    assert (p.ticks_left, len(api.sent)) == (2, 1)


def test_a_conflict_skips_the_tick_and_the_next_tick_decides_again(capsys):
    api = FakeApi(refused(409, "conflict", appliesAtTick=6), accepted(6))
    p = player(api, ticks=2)

    assert run_async(p.on_tick(5)) is False
    assert run_async(p.on_tick(6)) is True
    assert [tick for _, _, tick in api.sent] == [5, 6]
    assert p.ticks_left == 1


def test_a_rate_limit_is_sat_out_for_retry_after():
    api = FakeApi(refused(429, "rate_limited", retry_after=30))
    p = player(api)

    async def two_ticks():
        first = await p.on_tick(5)
        second = await p.on_tick(6)  # within Retry-After: nothing is sent
        return first, second

    assert run_async(two_ticks()) == (False, False)
    assert [tick for _, _, tick in api.sent] == [5]


@pytest.mark.parametrize("status,code", [(401, "unauthenticated"), (403, "forbidden")])
def test_a_refused_key_ends_the_run(status, code):
    p = player(FakeApi(refused(status, code)))
    with pytest.raises(external_agent.KeyRefused, match=code):
        run_async(p.on_tick(5))


def test_an_unreachable_server_skips_the_tick():
    class Down:
        async def decide(self, *args):
            raise ConnectionRefusedError("down")

    assert run_async(player(Down()).on_tick(5)) is False


def test_events_are_folded_in_order_and_a_gap_forces_a_resync():
    p = player(FakeApi())
    p.position = 10
    p.on_event({"position": 11, "type": "agent.action.succeeded",
                "data": {"agentId": "ada", "effects": {"x": 4, "y": 4, "energy": 20}}})
    p.on_event({"position": 12, "type": "agent.action.failed", "data": {"agentId": "bob", "effects": {}}})
    assert (p.position, p.agent.x, p.agent.y, p.agent.energy, p.agent.last_failed) == (12, 4, 4, 20, False)
    assert p.agent.decide() == {"type": "rest"}  # tired: below LOW_ENERGY

    with pytest.raises(external_agent.ResyncNeeded, match="expected position 13, got 14"):
        p.on_event({"position": 14, "type": "world.tick.completed", "data": {}})
    assert p.position == 12  # it resumes after the last event it really saw


def test_a_failed_move_turns_the_agent():
    agent = external_agent.Agent("ada", "meadow", energy=80, rng=random.Random(3))
    agent.observe({"type": "agent.action.failed", "data": {"agentId": "ada", "effects": {}}})
    assert agent.last_failed is True
    move = agent.decide()
    assert move["type"] == "move" and agent.last_failed is False


def test_lagging_and_overflow_notices_keep_the_stream_and_a_from_past_the_head_starts_over():
    p = player(FakeApi())
    p.position = 40
    p.on_error({"code": "lagging", "message": "…", "details": {"delivered": 40, "headPosition": 45}})
    p.on_error({"code": "overflow", "message": "…", "details": {"delivered": 40}})
    assert p.position == 40

    p.on_error({"code": "invalid", "message": "…", "details": {"from": "40", "headPosition": 3}})
    assert p.position is None  # the next connection starts from the newest checkpoint
