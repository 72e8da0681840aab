import dataclasses
import random
from collections import Counter

import pytest

from agents.brains import AgentContext, Brain
from agents.brains.builder import Builder
from agents.brains.forager import Forager
from agents.brains.trader import Trader
from agents.brains.wanderer import Wanderer
from selfplay.world import validate_action, world_checksum
from tests.world.worlds import world

from .simulate import BRAINS, populated, simulate

# SMALL:  y=0 "..b.."   y=1 ".~f.."   y=2 "..r.."   y=3 "....."


def decide(brain, state, agent_id, *, plan=None, seed=0):
    entry = state["agents"][agent_id]
    ctx = AgentContext(agent_id, entry["name"], "test", 1, entry, plan, random.Random(seed))
    return brain.tick(ctx, state)


@pytest.fixture(scope="module")
def fifty_ticks():
    return simulate(populated(), ticks=50, seed=3)


def test_base_brain_must_be_subclassed():
    state = world(agents={"a": {"x": 0, "y": 0}})
    with pytest.raises(NotImplementedError, match=r"^subclasses must implement tick\(\)$"):
        decide(Brain(), state, "a")
    ctx = AgentContext("a", "A", "test", 1, state["agents"]["a"], None, random.Random(0))
    assert Brain().plan(ctx, state) is None


def test_agent_context_is_frozen():
    ctx = AgentContext("a", "A", "test", 1, {}, None, random.Random(0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.tick = 2


def test_every_decision_is_one_valid_action(fifty_ticks):
    _, log = fifty_ticks
    assert len(log) == 50 * 16
    for _, _, _, decisions, _ in log:
        assert len(decisions) == 1
        assert validate_action(decisions[0]) == decisions[0]


def test_brains_replay_exactly_from_their_seeded_rngs(fifty_ticks):
    final, log = fifty_ticks
    again, log_again = simulate(populated(), ticks=50, seed=3)
    assert world_checksum(again) == world_checksum(final)
    assert log_again == log


def test_the_four_brains_behave_differently(fifty_ticks):
    _, log = fifty_ticks
    tried = {name: Counter() for name in BRAINS}
    done = {name: Counter() for name in BRAINS}
    for _, _, brain, _, (kind, data) in log:
        tried[brain][data["action"]["type"]] += 1
        if kind == "agent.action.succeeded":
            done[brain][data["action"]["type"]] += 1
    # Only wanderers talk, and walking is what they do most.
    assert [name for name in BRAINS if tried[name]["say"]] == ["wanderer"]
    assert tried["wanderer"].most_common(1)[0][0] == "move"
    # Only builders build, and they finish huts.
    assert [name for name in BRAINS if tried[name]["build"]] == ["builder"]
    assert done["builder"]["build"] >= 3
    # Only traders give, and gifts arrive.
    assert [name for name in BRAINS if tried[name]["give"]] == ["trader"]
    assert done["trader"]["give"] >= 10
    # Foragers live on berries: gather and eat, nothing else but walking.
    assert set(tried["forager"]) <= {"move", "gather", "eat", "rest"}
    assert done["forager"]["gather"] >= 10 and done["forager"]["eat"] >= 5
    gathered = {data["effects"]["tile"]["resource"] for _, _, brain, _, (_, data) in log
                if brain == "forager" and "tile" in data["effects"]}
    assert gathered == {"berries"}


def test_built_huts_score_on_the_leaderboard(fifty_ticks):
    final, _ = fifty_ticks
    huts = Counter(s["owner"] for s in final["structures"].values() if s["type"] == "hut")
    assert huts and set(huts) <= {f"builder-{i}" for i in range(4)}
    best = max(final["agents"].values(), key=lambda a: a["score"])
    assert best["brain"] == "builder"


# --- single decisions ---------------------------------------------------------------------


def test_forager_eats_when_hungry_and_rests_when_spent():
    state = world(agents={"h": {"x": 0, "y": 3, "energy": 40, "inventory": {"berries": 1}},
                          "s": {"x": 4, "y": 3, "energy": 5}})
    assert decide(Forager(), state, "h") == [{"type": "eat", "resource": "berries"}]
    assert decide(Forager(), state, "s") == [{"type": "rest"}]


def test_forager_gathers_the_bush_beside_it_or_walks_towards_one():
    state = world(agents={"a": {"x": 3, "y": 1}, "b": {"x": 4, "y": 3}})
    assert decide(Forager(), state, "a") == [{"type": "gather", "dx": -1, "dy": -1}]
    assert decide(Forager(), state, "b") == [{"type": "move", "dx": -1, "dy": -1}]


def test_builder_builds_where_it_stands_once_it_has_the_materials():
    state = world(agents={"a": {"x": 0, "y": 3, "inventory": {"wood": 3, "stone": 2}}})
    assert decide(Builder(), state, "a") == [{"type": "build", "structure": "hut"}]


def test_builder_walks_to_its_planned_site():
    state = world(agents={"a": {"x": 0, "y": 3, "inventory": {"wood": 3, "stone": 2}}})
    plan = {"site": {"x": 3, "y": 3}, "structure": "hut"}
    assert decide(Builder(), state, "a", plan=plan) == [{"type": "move", "dx": 1, "dy": 0}]


def test_builder_plans_its_site_beside_a_structure():
    state = world(agents={"a": {"x": 0, "y": 3}}, structures={(4, 3): "hut"})
    ctx = AgentContext("a", "A", "test", 1, state["agents"]["a"], None, random.Random(0))
    assert Builder().plan(ctx, state) == {"site": {"x": 3, "y": 3}, "structure": "hut"}
    lonely = world(agents={"a": {"x": 0, "y": 3}})
    ctx = AgentContext("a", "A", "test", 1, lonely["agents"]["a"], None, random.Random(0))
    assert Builder().plan(ctx, lonely) == {"site": {"x": 0, "y": 3}, "structure": "hut"}


def test_builder_gathers_the_material_it_lacks():
    state = world(agents={"a": {"x": 3, "y": 2, "inventory": {"wood": 3}}})
    assert decide(Builder(), state, "a") == [{"type": "gather", "dx": -1, "dy": 0}]


def test_wanderer_plans_a_heading_and_greets_neighbours():
    state = world(agents={"w": {"x": 0, "y": 3}, "n": {"x": 1, "y": 3}})
    ctx = AgentContext("w", "W", "test", 1, state["agents"]["w"], None, random.Random(0))
    assert Wanderer().plan(ctx, state) == {"heading": {"dx": -1, "dy": 1}}
    said = [decide(Wanderer(), state, "w", seed=s)[0] for s in range(40)]
    assert {"type": "say", "text": "Hello, N!"} in said
    assert all(len(a["text"]) <= 140 for a in said if a["type"] == "say")


def test_trader_gives_its_surplus_to_the_neighbour_with_least():
    state = world(agents={
        "t": {"x": 1, "y": 3, "inventory": {"wood": 5, "berries": 1}},
        "rich": {"x": 0, "y": 3, "inventory": {"wood": 4}},
        "poor": {"x": 2, "y": 3, "inventory": {"wood": 1}},
    })
    assert decide(Trader(), state, "t") == [{"type": "give", "to": "poor", "resource": "wood", "amount": 2}]


def test_trader_skips_neighbours_with_no_room():
    state = world(agents={
        "t": {"x": 0, "y": 3, "inventory": {"wood": 5}},
        "full": {"x": 1, "y": 3, "inventory": {"stone": 19}},
    })
    assert decide(Trader(), state, "t")[0]["type"] != "give"
