"""The local tick loop: the daemon's loop, schedule, commands and hash chain, without a database."""

import pytest

from agents.turns import tick_correlation_id
from events.hashing import event_hash
from selfplay.canonical import canonical_json, sha256_hex
from selfplay.local.engine import CommandRefused, LogCorrupt
from selfplay.world import new_region, world_checksum

from .worlds import REGION, local_run, resumed

WORLD = f"world:{REGION}"
ADA = f"{REGION}-builder-1"  # the first agent: a builder


def assert_chained(events: list[dict]) -> None:
    heads: dict[str, tuple[int, str]] = {}
    for expected_global, event in enumerate(events, start=1):
        position, prev = heads.get(event["streamId"], (0, ""))
        assert (event["position"], event["prevHash"], event["globalPosition"]) == (position + 1, prev, expected_global)
        assert event["hash"] == event_hash(prev_hash=prev, event_id=event["id"], stream_id=event["streamId"],
                                           position=event["position"], type=event["type"], data=event["data"],
                                           metadata=event["metadata"])
        heads[event["streamId"]] = (event["position"], event["hash"])


def test_a_new_world_is_created_with_agents_namespaced_by_their_region():
    run = local_run(seed=7, per_brain=2)
    created, *spawned = run.events
    assert (created["type"], created["streamId"], created["position"]) == ("world.created", WORLD, 1)
    # No epoch or cadence: the schedule is the tab's, and an adopting daemon records its own.
    assert created["data"] == new_region(REGION, seed=7, width=16, height=12)
    assert created["metadata"] == {"actor": "system"}
    assert [e["data"]["agentId"] for e in spawned] == [
        f"{REGION}-{brain}-{n}" for n in (1, 2) for brain in ("builder", "forager", "trader", "wanderer")]
    assert {e["data"]["name"] for e in spawned} >= {"Builder 1", "Wanderer 2"}
    assert all(e["data"]["owner"] is None and e["data"]["region"] == REGION for e in spawned)
    assert len({(e["data"]["x"], e["data"]["y"]) for e in spawned}) == 8
    assert all(e["recordedAt"] == "2026-01-01T00:00:00.000000Z" for e in run.events)
    assert_chained(run.events)


def test_ticks_follow_the_daemons_schedule_and_a_long_absence_is_skipped():
    run = local_run(max_catchup=30)
    run.run_to(3.5)
    completed = [e["data"]["tick"] for e in run.of(WORLD, "world.tick.completed")]
    assert completed == [1, 2, 3]
    run.run_to(100)
    [skipped] = run.of(WORLD, "world.ticks.skipped")
    assert skipped["data"] == {"fromTick": 4, "toTick": 70, "reason": "downtime"}
    completed = [e["data"]["tick"] for e in run.of(WORLD, "world.tick.completed")]
    assert completed == [1, 2, 3, *range(71, 101)]
    assert run.engine.tick_number == 100
    assert run.engine.next_due_at() == run.clock.at_tick(101)
    assert run.engine.advance(run.clock.at_tick(100.9)) == []
    assert_chained(run.events)


def test_a_tick_records_decisions_then_outcomes_then_its_completion():
    run = local_run()
    [plans, tick] = run.run_to(1)
    assert {e["type"] for e in plans.events} == {"agent.plan.updated"}
    agents = sorted(run.engine.state["world"]["agents"])
    decisions, world_events = tick.events[:4], tick.events[4:]
    correlation = tick_correlation_id(REGION, 1)
    assert [e["streamId"] for e in decisions] == [f"agent:{a}" for a in agents]
    for decision in decisions:
        agent_id = decision["streamId"].partition(":")[2]
        assert decision["type"] == "agent.action.submitted"
        assert decision["data"]["tick"] == 1 and decision["data"]["region"] == REGION
        assert decision["data"]["source"] == "brain"
        assert decision["metadata"] == {"actor": f"agent:{agent_id}", "tick": 1, "correlationId": correlation}
    outcomes, completed = world_events[:-1], world_events[-1]
    assert [e["data"]["agentId"] for e in outcomes] == agents
    assert [e["metadata"]["causationId"] for e in outcomes] == [d["id"] for d in decisions]
    assert completed["type"] == "world.tick.completed"
    assert completed["data"] == {"tick": 1, "checksum": world_checksum(run.engine.state["world"]), "agents": 4,
                                 "durationMs": 0}
    assert_chained(run.events)


def test_the_same_world_on_the_same_clock_records_the_same_log():
    first, second = local_run(seed=11), local_run(seed=11)
    first.run_to(40)
    second.run_to(40)
    assert canonical_json(first.events) == canonical_json(second.events)
    other = local_run(seed=12)
    other.run_to(40)
    assert other.events[-1]["data"]["checksum"] != first.events[-1]["data"]["checksum"]


def test_plans_are_recorded_every_plan_every_ticks_when_they_change():
    run = local_run(plan_every=10)
    run.run_to(25)
    planned = [(e["data"]["tick"], e["data"]["agentId"]) for e in run.events if e["type"] == "agent.plan.updated"]
    assert {tick for tick, _ in planned} <= {0, 10, 20}
    assert (0, ADA) in planned and (0, f"{REGION}-wanderer-1") in planned
    assert all(agent in (ADA, f"{REGION}-wanderer-1") for _, agent in planned)  # the brains that plan
    assert run.engine.state["agents"][ADA]["plan"] == [
        e for e in run.events if e["type"] == "agent.plan.updated" and e["data"]["agentId"] == ADA][-1]["data"]["plan"]


def without_checkpoint_mark(state: dict) -> str:
    return canonical_json({**state, "checkpointedAt": None})


def test_checkpoints_come_every_n_events_and_resuming_from_any_equals_the_live_world():
    run = local_run(checkpoint_every=50)
    run.run_to(20)
    positions = [c["globalPosition"] for c in run.checkpoints]
    assert len(positions) >= 3
    gaps = [b - a for a, b in zip([0, *positions], positions, strict=False)]
    assert all(50 <= gap < 50 + 10 for gap in gaps)  # a tick here is 9 events
    for checkpoint in run.checkpoints:
        assert sha256_hex(checkpoint["text"]) == checkpoint["checksum"]
    live = without_checkpoint_mark(run.engine.state)
    assert without_checkpoint_mark(resumed(run).state) == live
    for checkpoint in run.checkpoints:
        assert without_checkpoint_mark(resumed(run, checkpoint=checkpoint).state) == live

    # A resumed world goes on exactly as the live one does.
    again = resumed(run, checkpoint=run.checkpoints[1])
    expected = [b.events[-1]["data"]["checksum"] for b in run.run_to(30) if b.events[-1]["type"] == "world.tick.completed"]
    got = [b.events[-1]["data"]["checksum"] for b in again.advance(run.clock.now)
           if b.events[-1]["type"] == "world.tick.completed"]
    assert got == expected and len(got) == 10


def test_resuming_refuses_a_changed_event_or_checkpoint():
    run = local_run(checkpoint_every=40)
    run.run_to(10)
    events = [dict(e) for e in run.events]
    events[30] = {**events[30], "data": {**events[30]["data"], "tick": 99}}
    with pytest.raises(LogCorrupt, match=f"{events[30]['streamId']} position {events[30]['position']}: the hash"):
        resumed(run, events=events)
    del events[30]
    with pytest.raises(LogCorrupt, match="does not follow"):
        resumed(run, events=events)
    checkpoint = {**run.checkpoints[0], "text": run.checkpoints[0]["text"].replace('"tick":', '"tick": ', 1)}
    with pytest.raises(LogCorrupt, match="does not match its checksum"):
        resumed(run, checkpoint=checkpoint)


def test_an_override_typed_into_the_page_is_a_player_command_used_at_the_next_tick():
    run = local_run()
    run.run_to(2)
    [batch] = run.take(run.engine.command(kind="override", agent_id=ADA, action={"type": "eat"}, reason="hungry"))
    [override] = batch.events
    assert override["streamId"] == f"agent:{ADA}" and override["type"] == "player.override.submitted"
    assert override["data"] == {"agentId": ADA, "region": REGION, "appliesAtTick": 3,
                                "action": {"type": "eat", "resource": "berries"}, "reason": "hungry"}
    assert override["metadata"] == {"actor": "player:local"}

    with pytest.raises(CommandRefused) as refused:
        run.engine.command(kind="override", agent_id=ADA, action={"type": "rest"})
    assert (refused.value.code, refused.value.details) == ("conflict", {"appliesAtTick": 3})
    with pytest.raises(CommandRefused) as refused:
        run.engine.command(kind="override", agent_id=ADA, action={"type": "fly"})
    assert refused.value.code == "invalid" and "type" in refused.value.details["action"]
    with pytest.raises(CommandRefused) as refused:
        run.engine.command(kind="override", agent_id="nobody", action={"type": "rest"})
    assert refused.value.code == "not_found"

    run.run_to(3)
    [decision] = [e for e in run.of(f"agent:{ADA}", "agent.action.submitted") if e["data"]["tick"] == 3]
    assert decision["data"] == {"tick": 3, "region": REGION, "action": {"type": "eat", "resource": "berries"},
                                "source": "override"}
    assert decision["metadata"]["actor"] == "player:local"
    assert decision["metadata"]["causationId"] == override["id"]
    [outcome] = [e for e in run.of(WORLD) if e["data"].get("agentId") == ADA and e["data"].get("tick") == 3
                 and e["type"].startswith("agent.action.")]
    assert outcome["metadata"]["causationId"] == override["id"]
    assert run.engine.state["pending"] == []
    assert_chained(run.events)


def test_a_pending_override_survives_a_reload():
    run = local_run()
    run.run_to(2)
    run.take(run.engine.command(kind="override", agent_id=ADA, action={"type": "rest"}))
    again = resumed(run)
    assert again.state["pending"] == run.engine.state["pending"] != []
    [tick] = again.advance(run.clock.at_tick(3))
    assert [e["data"]["source"] for e in tick.events if e["streamId"] == f"agent:{ADA}"] == ["override"]


def test_pause_and_resume_follow_the_daemons_two_steps():
    run = local_run()
    run.run_to(1)
    [batch] = run.take(run.engine.command(kind="pause", agent_id=ADA, reason="a break"))
    assert [(e["type"], e["data"]) for e in batch.events] == [
        ("agent.paused", {"agentId": ADA, "region": REGION, "appliesAtTick": 2, "reason": "a break"})]
    with pytest.raises(CommandRefused, match="already paused"):
        run.engine.command(kind="pause", agent_id=ADA)
    run.run_to(3)
    paused = run.of(WORLD, "agent.paused")
    assert [e["data"] for e in paused] == [{"agentId": ADA, "region": REGION, "tick": 2}]
    assert [e["data"]["tick"] for e in run.of(f"agent:{ADA}", "agent.action.submitted")] == [1]
    assert run.engine.state["world"]["agents"][ADA]["status"] == "paused"
    run.take(run.engine.command(kind="resume", agent_id=ADA))
    run.run_to(4)
    assert [e["data"]["tick"] for e in run.of(WORLD, "agent.resumed")] == [4]
    assert [e["data"]["tick"] for e in run.of(f"agent:{ADA}", "agent.action.submitted")] == [1, 4]
    assert without_checkpoint_mark(resumed(run).state) == without_checkpoint_mark(run.engine.state)
