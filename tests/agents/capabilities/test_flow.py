"""A `use` decision from the tick to its one recorded result, and what the brain sees next."""

import hashlib

import pytest
from django.db import transaction

from agents.capabilities import services, tick
from agents.capabilities.base import Request
from agents.capabilities.blobs import get_blob
from agents.capabilities.registry import plugin
from agents.capabilities.services import grant_capabilities, result_event_id
from agents.capabilities.tick import observation
from agents.models import Agent, Notification
from agents.services import tick_region
from selfplay.canonical import canonical_json

from ..worlds import at, events_of
from .helpers import capability_events, ledger_of, perform_pending

pytestmark = pytest.mark.django_db
real_enqueue = tick.enqueue


def test_an_ungranted_use_fails_not_granted_and_the_world_ticks_on(hall, sent):
    report = tick_region(region_id="hall", now=at(hall, 2))
    assert report.ticks == [1, 2]
    failed = capability_events("capability.failed")
    assert [(e.stream_id, e.data["tick"], e.data["capability"], e.data["code"]) for e in failed] == [
        ("agent:ada", 1, "hash", "not_granted"), ("agent:bo", 1, "notify", "not_granted"),
        ("agent:ada", 2, "hash", "not_granted"), ("agent:bo", 2, "notify", "not_granted")]
    assert capability_events("capability.requested") == [] and sent == []
    # The world let the action through: it succeeded there, costing only the tick's decay.
    outcomes = [e for e in events_of("world:hall") if e.type.startswith("agent.action.")]
    assert {e.type for e in outcomes} == {"agent.action.succeeded"}


def test_a_granted_use_is_requested_after_its_decision_performed_once_and_seen_next_tick(
        hall, sent, django_capture_on_commit_callbacks):
    assert grant_capabilities(agent_id="ada", grants=["hash"], actor="operator:root") is True
    assert grant_capabilities(agent_id="ada", grants=["hash"], actor="operator:root") is False  # unchanged
    assert Agent.objects.get(id="ada").capability_grants == ["hash"]
    with django_capture_on_commit_callbacks(execute=True):
        tick_region(region_id="hall", now=at(hall, 1))

    stream = events_of("agent:ada")
    assert [e.type for e in stream] == ["agent.capabilities.granted", "agent.action.submitted", "capability.requested"]
    decision, requested = stream[1], stream[2]
    assert requested.data == {
        "requestId": requested.data["requestId"], "capability": "hash", "agentId": "ada", "region": "hall",
        "tick": 1, "args": {"blob": "Ada"}, "cost": 1, "budget": 19}
    assert requested.metadata["causationId"] == decision.id
    assert sent == [requested.data]  # handed to the capabilities queue once the tick committed

    assert services.perform(requested.data) == "completed"
    assert services.perform(requested.data) == "already recorded"  # a redelivered task
    [completed] = capability_events("capability.completed")
    digest = "99a563ab2f6e21e96998f9fddd2a2bab82b70ac019579502b8d7fc0032ff62bb"
    assert completed.id == result_event_id(requested.data["requestId"])
    assert completed.data == {"requestId": requested.data["requestId"], "capability": "hash", "agentId": "ada",
                              "region": "hall", "tick": 1, "result": {"sha256": digest}}

    tick_region(region_id="hall", now=at(hall, 2))
    said = events_of("agent:ada", "agent.action.submitted")[-1].data["action"]
    assert said == {"type": "say", "text": f"digest {digest[:16]}"}
    ledger = ledger_of("hall", "ada")
    assert (ledger["grants"], ledger["budget"], ledger["budgetTick"], ledger["spent"], ledger["requests"]) == (
        ["hash"], 19, 1, 1, 1)
    assert ledger["results"] == [{"requestId": requested.data["requestId"], "capability": "hash", "tick": 1,
                                  "status": "completed", "args": {"blob": "Ada"}, "result": {"sha256": digest}}]


def test_a_message_the_log_does_not_hold_pending_is_not_performed(hall, settings):
    # Another deployment's broker, a stale queue, a forged message: only the log says what to do.
    grant_capabilities(agent_id="ada", grants=["hash"], actor="system")
    tick_region(region_id="hall", now=at(hall, 1))
    [requested] = capability_events("capability.requested")
    forged = {**requested.data, "requestId": "0e4b7c4a-52d4-4b8e-9d65-7d0c6b1a0fff"}
    assert services.perform(forged) == "not pending"
    assert services.perform({**forged, "region": "elsewhere"}) == "not pending"
    assert services.perform({**requested.data, "args": {"blob": "forged"}}) == "completed"
    [completed] = capability_events("capability.completed")
    assert completed.data["result"] == {"sha256": hashlib.sha256(b"Ada").hexdigest()}  # the log's args
    assert [e.type for e in capability_events() if e.data["agentId"] == "ada"] == [
        "capability.requested", "capability.completed"]


def test_a_second_result_for_one_request_is_refused(hall):
    grant_capabilities(agent_id="ada", grants=["hash"], actor="system")
    tick_region(region_id="hall", now=at(hall, 1))
    [requested] = capability_events("capability.requested")
    assert services.record_result(requested.data, {"code": "timeout"}) == "failed:timeout"
    assert services.record_result(requested.data, {"result": {"sha256": "0" * 64}}) == "already recorded"
    assert services.perform(requested.data) == "already recorded"
    assert [(e.type, e.data.get("code")) for e in capability_events()
            if e.type != "capability.requested" and e.data["agentId"] == "ada"] == [("capability.failed", "timeout")]


def test_the_bucket_refills_per_tick_up_to_its_cap_and_over_budget_is_a_failure(hall, settings):
    settings.SELFPLAY_CAPABILITY_BUDGET_CAP = 3
    settings.SELFPLAY_CAPABILITY_COSTS = {"notify": 2}
    grant_capabilities(agent_id="bo", grants=["notify"], actor="system")
    tick_region(region_id="hall", now=at(hall, 6))
    bo = [e for e in capability_events() if e.data["agentId"] == "bo"]
    assert [(e.data["tick"], e.type, e.data.get("code"), e.data["budget"]) for e in bo] == [
        (1, "capability.requested", None, 1),  # a full bucket of 3, less 2
        (2, "capability.requested", None, 0),  # 1 + 1 refilled
        (3, "capability.failed", "budget_exhausted", 1),
        (4, "capability.requested", None, 0),
        (5, "capability.failed", "budget_exhausted", 1),
        (6, "capability.requested", None, 0),
    ]
    ledger = ledger_of("hall", "bo")
    assert (ledger["budget"], ledger["budgetTick"], ledger["spent"], ledger["requests"]) == (0, 6, 8, 6)
    # Long idle, the bucket refills only up to its cap.
    assert observation(ledger, tick=100)["budget"] == 3


def test_a_notification_is_made_once_even_when_the_request_is_performed_again(hall):
    grant_capabilities(agent_id="bo", grants=["notify"], actor="system")
    tick_region(region_id="hall", now=at(hall, 1))
    [requested] = capability_events("capability.requested")
    # The effect happened, then the worker died before recording the result: the redelivered
    # task performs the request again.
    plugin("notify").plugin.perform(Request(requested.data["requestId"], "bo", "hall", "notify",
                                            requested.data["args"]))
    assert services.perform(requested.data) == "completed"
    note = Notification.objects.get()
    assert (note.agent_id, note.message, note.request_id) == ("bo", "tick 1", requested.data["requestId"])
    [completed] = capability_events("capability.completed")
    assert completed.data["result"] == {"notificationId": note.id}


def test_a_large_result_is_recorded_as_a_blob_and_its_hash(hall, settings):
    settings.SELFPLAY_CAPABILITY_INLINE_MAX_CHARS = 20
    grant_capabilities(agent_id="ada", grants=["hash"], actor="system")
    tick_region(region_id="hall", now=at(hall, 1))
    assert perform_pending() == ["completed"]
    [completed] = capability_events("capability.completed")
    kept = canonical_json({"sha256": "99a563ab2f6e21e96998f9fddd2a2bab82b70ac019579502b8d7fc0032ff62bb"}).encode()
    assert completed.data["size"] == len(kept) and "result" not in completed.data
    assert get_blob(completed.data["blobHash"]) == kept


def test_the_sweep_sends_again_what_stayed_pending(hall, sent, django_capture_on_commit_callbacks):
    grant_capabilities(agent_id="ada", grants=["hash"], actor="system")
    with django_capture_on_commit_callbacks(execute=True):
        tick_region(region_id="hall", now=at(hall, 1))
    first = list(sent)
    assert [r["tick"] for r in first] == [1]
    assert services.sweep(older_than_ticks=1) == 0  # the world is still at tick 1
    tick_region(region_id="hall", now=at(hall, 2))  # ada asks again: a second request
    sent.clear()
    assert services.sweep(older_than_ticks=1) == 1
    fields = ("requestId", "capability", "agentId", "region", "tick", "args")
    assert [{key: r[key] for key in fields} for r in sent] == [{key: first[0][key] for key in fields}]
    assert perform_pending() == ["completed", "completed"]
    sent.clear()
    assert services.sweep(older_than_ticks=0) == 0 and sent == []


def test_perform_refuses_to_run_inside_a_transaction(hall):
    grant_capabilities(agent_id="ada", grants=["hash"], actor="system")
    tick_region(region_id="hall", now=at(hall, 1))
    [requested] = capability_events("capability.requested")
    with transaction.atomic(), pytest.raises(RuntimeError, match="outside any database transaction"):
        services.perform(requested.data)


def test_a_broker_down_after_the_tick_commits_fails_nothing_and_the_sweep_sends_it_later(
        hall, monkeypatch, django_capture_on_commit_callbacks, caplog):
    monkeypatch.setattr(tick, "enqueue", real_enqueue)  # undo the fixture: the real sending path

    class DownBroker:
        def send_task(self, name, args):
            raise ConnectionError("broker down")

    monkeypatch.setattr(tick, "current_app", DownBroker())
    grant_capabilities(agent_id="ada", grants=["hash"], actor="system")
    with django_capture_on_commit_callbacks(execute=True):
        report = tick_region(region_id="hall", now=at(hall, 1))
    assert report.ticks == [1]
    [requested] = capability_events("capability.requested")
    assert f"capability request {requested.data['requestId']} could not be queued" in caplog.text
    sent = []

    class UpBroker:
        def send_task(self, name, args):
            sent.append((name, args))

    monkeypatch.setattr(tick, "current_app", UpBroker())
    tick_region(region_id="hall", now=at(hall, 3))
    assert services.sweep(older_than_ticks=2) == 1
    [(name, (request,))] = sent
    assert (name, request["requestId"], request["args"]) == (
        "agents.perform_capability", requested.data["requestId"], {"blob": "Ada"})
