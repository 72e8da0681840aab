"""Planning ticks: plans are recorded when they change, reach the `agents` projection and
steer the following simulation ticks."""

import threading

import pytest
from django.db import connection, connections

from agents.brains.base import Brain
from agents.models import Agent
from agents.services import NewAgent, configure_agent, plan_region, spawn_agents, tick_region
from events.models import Projection
from events.store import ANY, NewEvent, record
from tests.support.databases import flush_past_append_only_triggers

from .worlds import at, event_count, events_of, make_region, world_state

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


# --- planning off the hot path: brains plan with no transaction open ------------------------

class Watchful(Brain):
    """Notes whether a transaction is open while it plans, and runs `meanwhile` (what the rest
    of the daemon does while a slow planner thinks) before it answers."""

    in_atomic_block: list[bool] = []
    meanwhile = None

    def plan(self, agent, world_state):
        Watchful.in_atomic_block.append(connection.in_atomic_block)
        if Watchful.meanwhile is not None:
            Watchful.meanwhile()
        return {"say": f"planned at tick {agent.tick}"}

    def tick(self, agent, world_state):
        return []


@pytest.fixture
def watchful(settings):
    settings.SELFPLAY_BRAINS = {"watchful": f"{__name__}.Watchful", "obedient": f"{__name__}.Obedient"}
    Watchful.in_atomic_block, Watchful.meanwhile = [], None
    yield Watchful
    Watchful.in_atomic_block, Watchful.meanwhile = [], None


@pytest.fixture
def calm(transactional_db, epoch, watchful):
    """Region `calm` with one watchful agent, in a test with no transaction of its own."""
    yield make_region("calm", epoch=epoch, agents={"wat": "watchful"})
    flush_past_append_only_triggers()


def in_another_thread(work, timeout: float = 10) -> None:
    """Run `work` on another thread (and so another database connection); fail if it is not done
    within `timeout` seconds or raises."""
    failures = []

    def run():
        try:
            work()
        except BaseException as exc:  # reported by the test below
            failures.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"the other thread was still waiting after {timeout} s"
    assert failures == []


def plan_data(agent_id: str) -> list[dict]:
    return [e.data for e in events_of(f"agent:{agent_id}", "agent.plan.updated")]


def test_brains_plan_with_no_transaction_open(calm, watchful):
    assert connection.in_atomic_block is False  # the test itself holds none

    assert plan_region(region_id="calm") == 1

    assert watchful.in_atomic_block == [False]
    assert [d["plan"] for d in plan_data("wat")] == [{"say": "planned at tick 0"}]


def test_the_world_ticks_while_a_brain_plans_and_the_plan_keeps_the_tick_it_was_computed_at(calm, watchful):
    tick_region(region_id="calm", now=at(calm, 2))
    # The worker's other process ticks while the brain thinks, on a connection of its own: on
    # SQLite it would wait for the write lock if planning held one (busy timeout, then fail).
    watchful.meanwhile = lambda: in_another_thread(lambda: tick_region(region_id="calm", now=at(calm, 5)))

    assert plan_region(region_id="calm") == 1

    assert world_state("calm")["tick"] == 5
    assert plan_data("wat") == [{"agentId": "wat", "region": "calm", "tick": 2,
                                 "plan": {"say": "planned at tick 2"}}]
    assert plans_in_projection("calm") == {"wat": {"say": "planned at tick 2"}}


def test_a_plan_recorded_meanwhile_is_not_overwritten_by_an_older_one(calm, watchful):
    newer = {"say": "from a faster planning run"}
    watchful.meanwhile = lambda: record([("agent:wat", [NewEvent(
        "agent.plan.updated", {"agentId": "wat", "region": "calm", "tick": 0, "plan": newer},
        {"actor": "agent:wat", "tick": 0})], ANY)])

    assert plan_region(region_id="calm") == 0

    assert [d["plan"] for d in plan_data("wat")] == [newer]
    assert plans_in_projection("calm") == {"wat": newer}


def test_a_plan_is_dropped_when_the_agent_was_paused_or_rebrained_meanwhile(calm, watchful):
    make_region("also", epoch=calm.epoch, agents={"pat": "watchful", "reb": "watchful", "kee": "watchful"})

    def meanwhile():
        Agent.objects.filter(id="pat").update(status=Agent.Status.PAUSED)
        configure_agent(agent_id="reb", actor="operator:root", brain="obedient")

    watchful.meanwhile = meanwhile

    assert plan_region(region_id="also") == 1

    assert plan_data("pat") == [] and plan_data("reb") == []
    assert [d["plan"] for d in plan_data("kee")] == [{"say": "planned at tick 0"}]


def test_slow_brains_plans_are_recorded_as_they_come_not_after_every_brain_answered(calm, watchful):
    make_region("slow", epoch=calm.epoch, agents={"one": "watchful", "two": "watchful"})
    seen_by_two = []
    watchful.meanwhile = lambda: seen_by_two.append(len(plan_data("one")))
    clock = iter(range(0, 100, 2))  # every brain seems to take 2 s, more than PLAN_FLUSH_SECONDS

    assert plan_region(region_id="slow", timer=lambda: next(clock)) == 2

    # When the second brain was asked, the first one's plan was in the log already.
    assert seen_by_two == [0, 1]
    assert [len(plan_data(a)) for a in ("one", "two")] == [1, 1]


def test_quick_brains_plans_are_recorded_together_once_every_brain_answered(calm, watchful):
    make_region("quick", epoch=calm.epoch, agents={"one": "watchful", "two": "watchful", "three": "watchful"})
    seen = []
    watchful.meanwhile = lambda: seen.append(sum(len(plan_data(a)) for a in ("one", "two", "three")))

    assert plan_region(region_id="quick", timer=lambda: 0.0) == 3

    assert seen == [0, 0, 0]
