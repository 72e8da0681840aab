"""Where each decision of a tick comes from: overrides, external decisions, paused agents and
brains that fail (DESIGN §4 steps 2–3)."""

import pytest

from agents.brains.base import Brain
from agents.brains.registry import UnknownBrain
from agents.models import Agent, PendingCommand
from agents.services import NewAgent, spawn_agents, tick_correlation_id, tick_region
from events.models import Event, Projection

from .worlds import at, event_count, events_of, run_command, world_state

pytestmark = pytest.mark.django_db

OVERRIDE_ID = "0e4b7c4a-52d4-4b8e-9d65-7d0c6b1a0001"
EXTERNAL_ID = "0e4b7c4a-52d4-4b8e-9d65-7d0c6b1a0002"


class Exploding(Brain):
    def tick(self, agent, world_state):
        raise RuntimeError(f"boom at tick {agent.tick}")


class Silent(Brain):
    def tick(self, agent, world_state):
        return []


class Flying(Brain):
    def tick(self, agent, world_state):
        return [{"type": "fly", "to": "moon"}]


class Lost(Brain):
    """Returns a decision JSON cannot hold (a NaN step), as a buggy or remote brain might."""

    def tick(self, agent, world_state):
        return [{"type": "move", "dx": float("nan"), "dy": 0}]


class Returning(Brain):
    """Returns whatever `returned` says, as a careless author's brain might."""

    returned: object = None

    def tick(self, agent, world_state):
        return self.returned


class Exiting(Brain):
    def tick(self, agent, world_state):
        raise SystemExit(3)

    def plan(self, agent, world_state):
        raise SystemExit(3)


@pytest.fixture
def test_brains(settings):
    settings.SELFPLAY_BRAINS = {
        **settings.SELFPLAY_BRAINS,
        "exploding": f"{__name__}.Exploding",
        "silent": f"{__name__}.Silent",
        "flying": f"{__name__}.Flying",
        "lost": f"{__name__}.Lost",
        "exiting": f"{__name__}.Exiting",
    }


def submitted(agent_id: str) -> list:
    return events_of(f"agent:{agent_id}", "agent.action.submitted")


def outcome(agent_id: str, tick: int):
    [event] = [e for e in events_of("world:vale")
               if e.type.startswith("agent.action.") and e.data["agentId"] == agent_id
               and e.data["tick"] == tick]
    return event


def pending(agent_id: str, tick: int, *, source: str = "override", action=None, event_id=OVERRIDE_ID,
            actor: str = "player:alice") -> PendingCommand:
    return PendingCommand.objects.create(
        agent_id=agent_id, applies_at_tick=tick, source=source, action=action or {"type": "rest"},
        event_id=event_id, actor=actor)


# --- overrides and external decisions -------------------------------------------------------


def test_an_override_replaces_the_brain_for_its_tick(region):
    row = pending("ada", 1)

    tick_region(region_id="vale", now=at(region, 1))

    [decision] = submitted("ada")
    assert decision.data == {"tick": 1, "region": "vale", "action": {"type": "rest"}, "source": "override"}
    assert decision.metadata == {"actor": "player:alice", "tick": 1, "causationId": OVERRIDE_ID,
                                 "correlationId": tick_correlation_id("vale", 1)}
    result = outcome("ada", 1)
    assert result.type == "agent.action.succeeded"
    # Resting from 80 energy: +4, minus the tick's decay of 1.
    assert result.data == {"agentId": "ada", "tick": 1, "action": {"type": "rest"}, "reason": None,
                           "effects": {"energy": 83}}
    assert not PendingCommand.objects.filter(id=row.id).exists()
    # Every other agent still asked its brain.
    assert [submitted(a)[0].data["source"] for a in ("bob", "cy", "dee")] == ["brain"] * 3


def test_an_overrides_causation_chain_runs_command_then_decision_then_outcome(region):
    pending("ada", 1)

    tick_region(region_id="vale", now=at(region, 1))

    [decision] = submitted("ada")
    assert decision.metadata["causationId"] == OVERRIDE_ID
    # The outcome points back to the command that caused the action (DESIGN §5: "the outcome
    # event points back to it"), not to the decision that relayed it.
    assert outcome("ada", 1).metadata["causationId"] == OVERRIDE_ID


def test_an_override_waits_for_the_tick_it_applies_at(region):
    row = pending("ada", 3)

    tick_region(region_id="vale", now=at(region, 2))
    assert [e.data["source"] for e in submitted("ada")] == ["brain", "brain"]
    assert PendingCommand.objects.filter(id=row.id).exists()

    tick_region(region_id="vale", now=at(region, 3))
    assert [e.data["source"] for e in submitted("ada")] == ["brain", "brain", "override"]
    assert not PendingCommand.objects.exists()


def test_an_external_decision_is_recorded_as_the_agents_own(region):
    pending("bob", 1, source="external", action={"type": "say", "text": "hello"},
            event_id=EXTERNAL_ID, actor="agent:bob")

    tick_region(region_id="vale", now=at(region, 1))

    [decision] = submitted("bob")
    assert decision.data == {"tick": 1, "region": "vale", "action": {"type": "say", "text": "hello"},
                             "source": "external"}
    assert decision.metadata["actor"] == "agent:bob"
    assert decision.metadata["causationId"] == EXTERNAL_ID
    assert outcome("bob", 1).data["effects"] == {"said": "hello", "energy": 79}


def test_an_override_wins_over_an_external_decision_for_the_same_tick(region):
    pending("bob", 1, source="external", action={"type": "say", "text": "mine"},
            event_id=EXTERNAL_ID, actor="agent:bob")
    pending("bob", 1)

    tick_region(region_id="vale", now=at(region, 1))

    [decision] = submitted("bob")
    assert decision.data["source"] == "override"
    assert decision.data["action"] == {"type": "rest"}
    assert decision.metadata["causationId"] == OVERRIDE_ID
    assert not PendingCommand.objects.exists()
    # The accepted external decision does not vanish: it ends as superseded by the override,
    # just before the decision that took its place.
    [superseded] = events_of("agent:bob", "agent.decision.superseded")
    assert superseded.data == {"commandId": EXTERNAL_ID, "by": OVERRIDE_ID, "source": "external",
                               "tick": 1, "region": "vale"}
    assert superseded.metadata == {"actor": "system", "tick": 1, "causationId": OVERRIDE_ID,
                                   "correlationId": tick_correlation_id("vale", 1)}
    assert superseded.position == decision.position - 1


def test_an_invalid_override_is_recorded_and_fails_without_stopping_the_tick(region):
    pending("ada", 1, action={"type": "teleport", "x": 3})

    report = tick_region(region_id="vale", now=at(region, 1))

    assert report.ticks == [1]
    assert submitted("ada")[0].data["action"] == {"type": "teleport", "x": 3}
    result = outcome("ada", 1)
    assert result.type == "agent.action.failed"
    assert result.data["reason"] == "invalid_action"
    assert result.data["effects"] == {"energy": 79}
    assert [e.data["tick"] for e in events_of("world:vale", "world.tick.completed")] == [1]


# --- paused agents --------------------------------------------------------------------------




def test_a_paused_agent_sits_out_and_its_pause_is_recorded(region):
    Agent.objects.filter(id="cy").update(status=Agent.Status.PAUSED)

    report = tick_region(region_id="vale", now=at(region, 1))

    assert report.ticks == [1]
    [paused] = events_of("world:vale", "agent.paused")
    assert paused.data == {"agentId": "cy", "region": "vale", "tick": 1}
    assert paused.metadata["actor"] == "system"
    assert submitted("cy") == []
    assert [len(submitted(a)) for a in ("ada", "bob", "dee")] == [1, 1, 1]
    assert not [e for e in events_of("world:vale") if e.type.startswith("agent.action.")
                and e.data["agentId"] == "cy"]
    assert events_of("world:vale", "world.tick.completed")[0].data["agents"] == 3
    assert world_state("vale")["agents"]["cy"]["status"] == "paused"
    agents = Projection.objects.get(name="agents", key="vale").state["agents"]
    assert agents["cy"]["status"] == "paused"

    # A paused agent stays out without a new pause event each tick.
    tick_region(region_id="vale", now=at(region, 2))
    assert len(events_of("world:vale", "agent.paused")) == 1
    assert submitted("cy") == []

    Agent.objects.filter(id="cy").update(status=Agent.Status.ACTIVE)
    tick_region(region_id="vale", now=at(region, 3))
    [resumed] = events_of("world:vale", "agent.resumed")
    assert resumed.data == {"agentId": "cy", "region": "vale", "tick": 3}
    assert [e.data["tick"] for e in submitted("cy")] == [3]
    assert world_state("vale")["agents"]["cy"]["status"] == "active"


# --- brains that fail -----------------------------------------------------------------------


def test_a_failing_brain_idles_its_agent_and_the_tick_goes_on(region, test_brains):
    spawn_agents(region_id="vale", rng_seed=5, agents=[NewAgent(id="eve", name="Eve", brain="exploding")])

    report = tick_region(region_id="vale", now=at(region, 1))

    assert report.ticks == [1]
    [decision] = submitted("eve")
    assert decision.data == {"tick": 1, "region": "vale", "action": {"type": "idle"}, "source": "brain",
                             "brainError": "RuntimeError: boom at tick 1"}
    assert decision.metadata["actor"] == "agent:eve"
    assert outcome("eve", 1).type == "agent.action.succeeded"
    assert outcome("eve", 1).data["effects"] == {"energy": 79}
    for agent_id in ("ada", "bob", "cy", "dee"):
        [other] = submitted(agent_id)
        assert "brainError" not in other.data
    assert events_of("world:vale", "world.tick.completed")[0].data["agents"] == 5


def test_a_brain_with_nothing_to_do_idles_without_an_error(region, test_brains):
    spawn_agents(region_id="vale", rng_seed=5, agents=[NewAgent(id="sid", name="Sid", brain="silent")])
    tick_region(region_id="vale", now=at(region, 1))
    assert submitted("sid")[0].data == {"tick": 1, "region": "vale", "action": {"type": "idle"},
                                        "source": "brain"}


def test_an_invalid_brain_decision_is_recorded_and_fails(region, test_brains):
    spawn_agents(region_id="vale", rng_seed=5, agents=[NewAgent(id="icarus", name="Icarus", brain="flying")])
    tick_region(region_id="vale", now=at(region, 1))
    assert submitted("icarus")[0].data["action"] == {"type": "fly", "to": "moon"}
    assert outcome("icarus", 1).type == "agent.action.failed"
    assert outcome("icarus", 1).data["reason"] == "invalid_action"




def test_an_unrecordable_brain_decision_does_not_stop_the_tick(region, test_brains):
    spawn_agents(region_id="vale", rng_seed=5, agents=[NewAgent(id="lou", name="Lou", brain="lost")])

    report = tick_region(region_id="vale", now=at(region, 1))

    assert report.ticks == [1]
    assert [len(submitted(a)) for a in ("ada", "bob", "cy", "dee", "lou")] == [1] * 5
    # Whatever lou's turn became, it is recorded, it failed or idled, and it replays.
    assert outcome("lou", 1).data["effects"] == {"energy": 79}
    assert run_command("verify_replay", "--no-progress")[0] == 0


@pytest.mark.parametrize(("returned", "error"), [
    ({"type": "move", "dx": 1, "dy": 0}, "unrecordable decision: tick() returned dict, not a list of actions"),
    ("move", "unrecordable decision: tick() returned str, not a list of actions"),
    (5, "unrecordable decision: tick() returned int, not a list of actions"),
    ([{"type": "say", "text": "\x00"}], "unrecordable decision: not storable JSON"),
    ([{"type": "move", "dx": 1, "dy": 0, "pad": "x" * 20_000}], "unrecordable decision: 20038 characters as JSON, more than 16384"),
])
def test_a_brain_that_returns_what_cannot_be_recorded_idles_with_the_reason(region, returned, error):
    from agents import turns

    brain = Returning()
    brain.returned = returned
    state = world_state("vale")
    action, problem = turns.decide(brain, turns.context("ada", state, None, tick=1), state)
    assert action == turns.IDLE
    assert problem.startswith(error)


def test_a_brain_that_exits_neither_stops_the_tick_nor_its_planning(region, test_brains):
    from agents.services import plan_region

    spawn_agents(region_id="vale", rng_seed=5, agents=[NewAgent(id="ex", name="Ex", brain="exiting")])
    assert tick_region(region_id="vale", now=at(region, 1)).ticks == [1]
    assert submitted("ex")[0].data["brainError"] == "SystemExit: 3"
    plan_region(region_id="vale")  # the other agents still plan
    planned = {e.stream_id.partition(":")[2] for e in Event.objects.filter(type="agent.plan.updated")}
    assert planned and "ex" not in planned


def test_spawning_with_an_unknown_brain_writes_nothing(region):
    before = event_count()
    with pytest.raises(UnknownBrain, match="no brain named 'oracle'"):
        spawn_agents(region_id="vale", rng_seed=5, agents=[
            NewAgent(id="fay", name="Fay", brain="builder"), NewAgent(id="gus", name="Gus", brain="oracle")])
    assert event_count() == before
    assert not Agent.objects.filter(id__in=["fay", "gus"]).exists()
