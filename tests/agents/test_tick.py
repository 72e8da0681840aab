"""The tick (DESIGN §4): numbered from the schedule, caught up after downtime, written once,
one transaction per tick."""

import pytest

from agents.models import Agent, PendingCommand
from agents.services import due_tick, run_tick, tick_correlation_id, tick_region
from events.projection_checks import compare_with_rebuild
from events.store import NewEvent, WrongExpectedVersion, stream_version
from selfplay import world
from selfplay.canonical import checksum
from tests.support.log import record_to

from .worlds import at, event_count, events_of, projection_rows, tick_event_count, world_state

pytestmark = pytest.mark.django_db

AGENTS = ["ada", "bob", "cy", "dee"]
EVENTS_PER_TICK = 2 * len(AGENTS) + 1  # a decision and an outcome per agent, then the completion


def submitted_ticks(agent_id: str) -> list[int]:
    return [e.data["tick"] for e in events_of(f"agent:{agent_id}", "agent.action.submitted")]


def completed_ticks(region_id: str = "vale") -> list[int]:
    return [e.data["tick"] for e in events_of(f"world:{region_id}", "world.tick.completed")]


# --- numbering from the schedule ------------------------------------------------------------


def test_due_tick_counts_whole_intervals_since_the_epoch(region):
    assert due_tick(region, region.epoch) == 0
    assert due_tick(region, at(region, -3)) == 0
    assert due_tick(region, at(region, 0.999)) == 0
    assert due_tick(region, at(region, 1)) == 1
    assert due_tick(region, at(region, 2.5)) == 2
    assert due_tick(region, at(region, 1000)) == 1000


def test_nothing_is_due_before_the_first_interval(region):
    before = event_count()
    report = tick_region(region_id="vale", now=at(region, 0.9))
    assert (report.ticks, report.events, report.skipped, report.lost_race) == ([], 0, None, False)
    assert event_count() == before
    assert world_state("vale")["tick"] == 0


def test_ticks_due_at_now_run_once_each(region):
    report = tick_region(region_id="vale", now=at(region, 2.5))  # epoch + 5 s at 2 s a tick

    assert report.ticks == [1, 2]
    assert report.skipped is None
    assert report.lost_race is False
    assert report.events == 2 * EVENTS_PER_TICK
    written = event_count()

    again = tick_region(region_id="vale", now=at(region, 2.5))
    assert again.ticks == []
    assert again.events == 0
    assert event_count() == written

    state = world_state("vale")
    assert state["tick"] == 2
    completed = events_of("world:vale", "world.tick.completed")
    assert [e.data["tick"] for e in completed] == [1, 2]
    assert [e.metadata for e in completed] == [
        {"actor": "system", "tick": t, "correlationId": tick_correlation_id("vale", t)} for t in (1, 2)
    ]
    assert [e.data["agents"] for e in completed] == [4, 4]
    # The recorded checksum is the live projection's: any replica can compare with it.
    assert completed[-1].data["checksum"] == checksum(state)


def test_every_active_agent_submits_exactly_one_decision_per_tick(region):
    tick_region(region_id="vale", now=at(region, 2))
    outcomes = {(e.data["agentId"], e.data["tick"]): e
                for e in events_of("world:vale") if e.type.startswith("agent.action.")}
    assert sorted(outcomes) == [(a, t) for a in AGENTS for t in (1, 2)]

    for agent_id in AGENTS:
        submitted = events_of(f"agent:{agent_id}", "agent.action.submitted")
        assert [e.data["tick"] for e in submitted] == [1, 2]
        for event in submitted:
            tick = event.data["tick"]
            assert event.data == {"tick": tick, "region": "vale", "source": "brain",
                                  "action": outcomes[(agent_id, tick)].data["action"]}
            assert event.metadata == {"actor": f"agent:{agent_id}", "tick": tick,
                                      "correlationId": tick_correlation_id("vale", tick)}
            # Each outcome names the decision that caused it.
            assert outcomes[(agent_id, tick)].metadata["causationId"] == event.id


def test_regions_tick_on_their_own_schedules(region, epoch):
    from .worlds import make_region

    hill = make_region("hill", epoch=at(region, 3), tick_seconds=5, agents={"eve": "forager"})
    # Count the world and agent streams only: checkpoint announcements are not the tick's.
    before, hill_before = tick_event_count(), len(events_of("world:hill")) + len(events_of("agent:eve"))

    assert tick_region(region_id="vale", now=at(region, 4)).ticks == [1, 2, 3, 4]
    assert completed_ticks("hill") == []
    assert tick_event_count() == before + 4 * EVENTS_PER_TICK
    assert len(events_of("world:hill")) + len(events_of("agent:eve")) == hill_before

    # Vale's interval 8 (16 s) is 10 s after hill's epoch (6 s): two of hill's 5 s intervals.
    assert tick_region(region_id="hill", now=at(region, 8)).ticks == [1, 2]
    assert completed_ticks("hill") == [1, 2]
    assert completed_ticks("vale") == [1, 2, 3, 4]
    assert [e.data["region"] for e in events_of("agent:eve", "agent.action.submitted")] == ["hill", "hill"]
    assert hill.tick_seconds == 5


# --- catch-up after downtime ----------------------------------------------------------------


def test_downtime_beyond_the_catchup_limit_is_recorded_as_skipped(region):
    tick_region(region_id="vale", now=at(region, 1))
    report = tick_region(region_id="vale", now=at(region, 11), max_catchup=3)

    assert report.skipped == (2, 8)
    assert report.ticks == [9, 10, 11]
    assert report.events == 1 + 3 * EVENTS_PER_TICK
    skipped = events_of("world:vale", "world.ticks.skipped")
    assert [e.data for e in skipped] == [{"fromTick": 2, "toTick": 8, "reason": "downtime"}]
    assert skipped[0].metadata["actor"] == "system"
    assert completed_ticks() == [1, 9, 10, 11]
    assert submitted_ticks("ada") == [1, 9, 10, 11]
    assert world_state("vale")["tick"] == 11
    # The skipped range comes before the ticks that were simulated.
    types = [e.type for e in events_of("world:vale")]
    assert types.index("world.ticks.skipped") < types.index("world.tick.completed", types.index("world.ticks.skipped"))


def test_catchup_limit_defaults_to_the_setting(region, settings):
    settings.SELFPLAY_MAX_CATCHUP_TICKS = 2
    report = tick_region(region_id="vale", now=at(region, 5))
    assert report.skipped == (1, 3)
    assert report.ticks == [4, 5]
    assert completed_ticks() == [4, 5]


def test_downtime_within_the_limit_simulates_every_tick(region):
    report = tick_region(region_id="vale", now=at(region, 3), max_catchup=3)
    assert report.skipped is None
    assert report.ticks == [1, 2, 3]
    assert events_of("world:vale", "world.ticks.skipped") == []


# --- a single writer ------------------------------------------------------------------------


def test_running_a_recorded_tick_again_raises_and_writes_nothing(region):
    tick_region(region_id="vale", now=at(region, 2))
    before, rows = event_count(), projection_rows()

    for tick in (1, 2):
        with pytest.raises(WrongExpectedVersion):
            run_tick(region=region, tick=tick)

    assert event_count() == before
    assert projection_rows() == rows
    assert completed_ticks() == [1, 2]


def test_a_worker_that_loses_the_race_stops_and_writes_nothing(region, monkeypatch):
    agent = Agent.objects.get(id="ada")
    pending = PendingCommand.objects.create(
        agent=agent, applies_at_tick=1, source="override", action={"type": "rest"},
        event_id="1b4e28ba-2fa1-41d2-883f-0016d3cca427", actor="player:alice")
    # This worker reads the head, then another worker appends to the world stream.
    stale_head = stream_version("world:vale")
    record_to("world:vale", [NewEvent("world.racer.appended", {"worker": 2})])
    heads = iter([stale_head])
    monkeypatch.setattr("agents.services.stream_version",
                        lambda stream_id: next(heads, None) or stream_version(stream_id))
    before, rows = event_count(), projection_rows()

    report = tick_region(region_id="vale", now=at(region, 1))

    assert report.lost_race is True
    assert report.ticks == []
    assert report.events == 0
    assert event_count() == before
    assert projection_rows() == rows
    assert all(submitted_ticks(a) == [] for a in AGENTS)
    assert PendingCommand.objects.filter(id=pending.id).exists()

    # The next attempt reads the real head and records the tick, once.
    assert tick_region(region_id="vale", now=at(region, 1)).ticks == [1]
    assert completed_ticks() == [1]


# --- one transaction per tick ---------------------------------------------------------------


def failing_at(tick_to_fail: int):
    real = world.evaluate_tick

    def evaluate(state, decisions, *, tick, seed):
        if tick == tick_to_fail:
            raise RuntimeError("the rules exploded")
        return real(state, decisions, tick=tick, seed=seed)

    return evaluate


def test_a_tick_that_fails_leaves_no_trace(region, monkeypatch):
    tick_region(region_id="vale", now=at(region, 1))
    pending = PendingCommand.objects.create(
        agent_id="bob", applies_at_tick=2, source="override", action={"type": "rest"},
        event_id="2b4e28ba-2fa1-41d2-883f-0016d3cca427", actor="player:alice")
    before, rows = event_count(), projection_rows()
    monkeypatch.setattr("selfplay.world.evaluate_tick", failing_at(2))

    with pytest.raises(RuntimeError, match="the rules exploded"):
        tick_region(region_id="vale", now=at(region, 2))

    assert event_count() == before
    assert projection_rows() == rows
    assert all(submitted_ticks(a) == [1] for a in AGENTS)
    assert completed_ticks() == [1]
    assert PendingCommand.objects.filter(id=pending.id).exists()


def test_each_tick_commits_on_its_own(region, monkeypatch):
    tick_region(region_id="vale", now=at(region, 1))
    pending = PendingCommand.objects.create(
        agent_id="bob", applies_at_tick=3, source="override", action={"type": "rest"},
        event_id="3b4e28ba-2fa1-41d2-883f-0016d3cca427", actor="player:alice")
    monkeypatch.setattr("selfplay.world.evaluate_tick", failing_at(3))

    with pytest.raises(RuntimeError):
        tick_region(region_id="vale", now=at(region, 3))

    # Tick 2 was committed before tick 3 failed; nothing of tick 3 remains.
    assert completed_ticks() == [1, 2]
    assert all(submitted_ticks(a) == [1, 2] for a in AGENTS)
    state = world_state("vale")
    assert state["tick"] == 2
    assert checksum(state) == events_of("world:vale", "world.tick.completed")[-1].data["checksum"]
    mismatches, _ = compare_with_rebuild(["world", "agents", "leaderboard"])
    assert mismatches == []
    assert PendingCommand.objects.filter(id=pending.id).exists()

    # Once the fault is gone, the next attempt records tick 3 with the pending override.
    monkeypatch.undo()
    assert tick_region(region_id="vale", now=at(region, 3)).ticks == [3]
    assert events_of("agent:bob", "agent.action.submitted")[-1].data["source"] == "override"
    assert not PendingCommand.objects.exists()
