"""Planning ticks: plans are recorded when they change, reach the `agents` projection and
steer the following simulation ticks."""

import pytest

from agents.brains.base import Brain
from agents.services import NewAgent, plan_region, spawn_agents, tick_region
from events.models import Projection

from .worlds import at, event_count, events_of

pytestmark = pytest.mark.django_db


class Obedient(Brain):
    """Plans what to say from the tick it planned at; says exactly its plan."""

    def plan(self, agent, world_state):
        return {"say": f"planned at tick {agent.tick}"}

    def tick(self, agent, world_state):
        return [{"type": "say", "text": agent.plan["say"]}] if agent.plan else []


class Unsure(Brain):
    def plan(self, agent, world_state):
        raise ValueError("cannot decide")

    def tick(self, agent, world_state):
        return []


@pytest.fixture
def test_brains(settings):
    settings.SELFPLAY_BRAINS = {**settings.SELFPLAY_BRAINS,
                                "obedient": f"{__name__}.Obedient", "unsure": f"{__name__}.Unsure"}


def plans_in_projection(region_id: str = "vale") -> dict:
    state = Projection.objects.get(name="agents", key=region_id).state
    return {aid: entry["plan"] for aid, entry in state["agents"].items() if "plan" in entry}


def plan_events() -> list:
    return [e for a in ("ada", "bob", "cy", "dee", "otto", "una")
            for e in events_of(f"agent:{a}", "agent.plan.updated")]


def test_builders_and_wanderers_plan_and_the_plans_reach_the_agents_projection(region):
    recorded = plan_region(region_id="vale")

    events = plan_events()
    # Foragers and traders keep acting without a plan.
    assert sorted(e.stream_id for e in events) == ["agent:ada", "agent:dee"]
    assert recorded == 2
    for event in events:
        agent_id = event.stream_id.partition(":")[2]
        assert set(event.data) == {"agentId", "region", "tick", "plan"}
        assert (event.data["agentId"], event.data["region"], event.data["tick"]) == (agent_id, "vale", 0)
        assert event.metadata == {"actor": f"agent:{agent_id}", "tick": 0}
    ada = next(e for e in events if e.stream_id == "agent:ada").data["plan"]
    assert ada["structure"] == "hut"
    assert set(ada["site"]) == {"x", "y"}
    assert plans_in_projection() == {e.data["agentId"]: e.data["plan"] for e in events}


def test_an_unchanged_plan_is_not_recorded_again(region):
    assert plan_region(region_id="vale") == 2
    before = event_count()

    # Same world, same tick: the builder's site and the wanderer's seeded heading are the same.
    assert plan_region(region_id="vale") == 0
    assert event_count() == before
    assert len(plan_events()) == 2


def test_a_plan_steers_the_next_ticks(region, test_brains):
    spawn_agents(region_id="vale", rng_seed=3, agents=[NewAgent(id="otto", name="Otto", brain="obedient")])
    tick_region(region_id="vale", now=at(region, 1))
    assert plan_region(region_id="vale") == 3  # ada, dee and otto

    tick_region(region_id="vale", now=at(region, 3))

    said = [e.data["action"] for e in events_of("agent:otto", "agent.action.submitted")]
    assert said == [{"type": "idle"},
                    {"type": "say", "text": "planned at tick 1"},
                    {"type": "say", "text": "planned at tick 1"}]
    # A new plan replaces the old one in the projection and in later ticks.
    before = len(plan_events())
    replanned = plan_region(region_id="vale")
    assert replanned == len(plan_events()) - before
    assert len(events_of("agent:otto", "agent.plan.updated")) == 2
    assert plans_in_projection()["otto"] == {"say": "planned at tick 3"}
    tick_region(region_id="vale", now=at(region, 4))
    assert events_of("agent:otto", "agent.action.submitted")[-1].data["action"] == {
        "type": "say", "text": "planned at tick 3"}


def test_a_brain_that_fails_to_plan_records_nothing_and_others_still_plan(region, test_brains):
    spawn_agents(region_id="vale", rng_seed=3, agents=[NewAgent(id="una", name="Una", brain="unsure")])

    assert plan_region(region_id="vale") == 2
    assert events_of("agent:una", "agent.plan.updated") == []
    assert sorted(plans_in_projection()) == ["ada", "dee"]
