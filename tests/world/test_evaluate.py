import random

import pytest

from selfplay.canonical import canonical_json
from selfplay.world import evaluate_tick, fold
from selfplay.world.seeds import shuffled

from .worlds import world

# SMALL:  y=0 "..b.."   y=1 ".~f.."   y=2 "..r.."   y=3 "....."


def outcome(state, agent_id, action, *, seed=1, tick=5):
    """Return (type, data) of agent_id's outcome when it alone decides action."""
    outcomes = evaluate_tick(state, {agent_id: action}, tick=tick, seed=seed)
    return next((kind, data) for kind, data in outcomes if data["agentId"] == agent_id)


def succeeded(state, agent_id, action, effects):
    kind, data = outcome(state, agent_id, action)
    assert (kind, data["reason"], data["effects"]) == ("agent.action.succeeded", None, effects)


def failed(state, agent_id, action, reason, energy):
    kind, data = outcome(state, agent_id, action)
    assert (kind, data["reason"], data["effects"]) == ("agent.action.failed", reason, {"energy": energy})


def order(agent_ids, seed):
    return shuffled(sorted(agent_ids), random.Random(seed))


def test_outcome_data_shape():
    state = world(agents={"ada": {"x": 0, "y": 0}})
    outcomes = evaluate_tick(state, {"ada": {"type": "move", "dx": 1, "dy": 0}}, tick=7, seed=3)
    assert outcomes == [
        (
            "agent.action.succeeded",
            {
                "agentId": "ada", "tick": 7, "action": {"type": "move", "dx": 1, "dy": 0},
                "reason": None, "effects": {"x": 1, "y": 0, "energy": 48},
            },
        )
    ]


# --- move ---------------------------------------------------------------------------------


def test_move_into_water_is_blocked():
    failed(world(agents={"a": {"x": 1, "y": 0}}), "a", {"type": "move", "dx": 0, "dy": 1}, "blocked", 49)


def test_move_off_the_map_is_out_of_bounds():
    state = world(agents={"a": {"x": 0, "y": 0}})
    failed(state, "a", {"type": "move", "dx": -1, "dy": 0}, "out_of_bounds", 49)


def test_move_onto_a_standing_agent_is_occupied():
    state = world(agents={"a": {"x": 0, "y": 0}, "b": {"x": 1, "y": 0}})
    failed(state, "a", {"type": "move", "dx": 1, "dy": 0}, "occupied", 49)


def test_diagonal_move_succeeds():
    succeeded(world(agents={"a": {"x": 3, "y": 3}}), "a", {"type": "move", "dx": 1, "dy": -1},
              {"x": 4, "y": 2, "energy": 48})


@pytest.mark.parametrize("seed", range(12))
def test_two_agents_moving_into_one_tile_exactly_one_wins(seed):
    state = world(agents={"a": {"x": 0, "y": 3}, "b": {"x": 2, "y": 3}})
    decisions = {"a": {"type": "move", "dx": 1, "dy": 0}, "b": {"type": "move", "dx": -1, "dy": 0}}
    outcomes = evaluate_tick(state, decisions, tick=1, seed=seed)
    reversed_decisions = dict(reversed(list(decisions.items())))
    assert evaluate_tick(state, reversed_decisions, tick=1, seed=seed) == outcomes
    winner = order(["a", "b"], seed)[0]
    loser = "b" if winner == "a" else "a"
    by_id = {data["agentId"]: (kind, data) for kind, data in outcomes}
    assert by_id[winner][0] == "agent.action.succeeded"
    assert (by_id[winner][1]["effects"]["x"], by_id[winner][1]["effects"]["y"]) == (1, 3)
    assert by_id[loser][0] == "agent.action.failed"
    assert by_id[loser][1]["reason"] == "lost_conflict"


def test_move_conflict_winner_depends_on_the_seed():
    state = world(agents={"a": {"x": 0, "y": 3}, "b": {"x": 2, "y": 3}})
    decisions = {"a": {"type": "move", "dx": 1, "dy": 0}, "b": {"type": "move", "dx": -1, "dy": 0}}
    winners = {
        next(d["agentId"] for k, d in evaluate_tick(state, decisions, tick=1, seed=s) if d["reason"] is None)
        for s in range(12)
    }
    assert winners == {"a", "b"}


@pytest.mark.parametrize("seed", range(8))
def test_following_into_a_vacated_tile_depends_on_turn_order(seed):
    state = world(agents={"a": {"x": 0, "y": 3}, "b": {"x": 1, "y": 3}})
    decisions = {"a": {"type": "move", "dx": 1, "dy": 0}, "b": {"type": "move", "dx": 1, "dy": 0}}
    a = evaluate_tick(state, decisions, tick=1, seed=seed)[0][1]
    if order(["a", "b"], seed)[0] == "b":
        assert (a["reason"], a["effects"]) == (None, {"x": 1, "y": 3, "energy": 48})
    else:
        assert (a["reason"], a["effects"]) == ("occupied", {"energy": 49})


# --- gather -------------------------------------------------------------------------------


def test_gather_from_own_tile():
    succeeded(world(agents={"a": {"x": 2, "y": 0}}), "a", {"type": "gather"}, {
        "inventory": {"berries": 1}, "score": 1,
        "tile": {"x": 2, "y": 0, "resource": "berries", "delta": -1}, "energy": 47,
    })


def test_gather_from_adjacent_tile():
    succeeded(world(agents={"a": {"x": 3, "y": 2}}), "a", {"type": "gather", "dx": -1, "dy": -1}, {
        "inventory": {"wood": 1}, "score": 1,
        "tile": {"x": 2, "y": 1, "resource": "wood", "delta": -1}, "energy": 47,
    })


def test_gather_failures():
    state = world(
        agents={"g": {"x": 0, "y": 0}, "e": {"x": 2, "y": 2}, "f": {"x": 2, "y": 0, "inventory": {"wood": 20}}},
        amounts={(2, 2): 0},
    )
    failed(state, "g", {"type": "gather"}, "nothing_to_gather", 49)
    failed(state, "g", {"type": "gather", "dx": 1, "dy": 1}, "nothing_to_gather", 49)  # water
    failed(state, "g", {"type": "gather", "dx": -1, "dy": 0}, "out_of_bounds", 49)
    failed(state, "e", {"type": "gather"}, "tile_empty", 49)
    failed(state, "f", {"type": "gather"}, "inventory_full", 49)


@pytest.mark.parametrize("seed", range(8))
def test_two_gatherers_and_the_last_unit(seed):
    state = world(agents={"a": {"x": 1, "y": 0}, "b": {"x": 3, "y": 0}}, amounts={(2, 0): 1})
    decisions = {"a": {"type": "gather", "dx": 1, "dy": 0}, "b": {"type": "gather", "dx": -1, "dy": 0}}
    outcomes = evaluate_tick(state, decisions, tick=1, seed=seed)
    first, second = order(["a", "b"], seed)
    by_id = {data["agentId"]: data for _, data in outcomes}
    assert by_id[first]["effects"]["inventory"] == {"berries": 1}
    assert (by_id[second]["reason"], by_id[second]["effects"]) == ("lost_conflict", {"energy": 49})
    after = fold("world", state, outcomes)
    assert after["tiles"]["amounts"][2] == 0


# --- eat, rest, say, idle -----------------------------------------------------------------


def test_eat_berries_restores_energy_up_to_the_maximum():
    state = world(agents={"a": {"x": 0, "y": 0, "inventory": {"berries": 2}},
                          "b": {"x": 4, "y": 3, "energy": 95, "inventory": {"berries": 1}}})
    succeeded(state, "a", {"type": "eat"}, {"inventory": {"berries": -1}, "energy": 64})
    succeeded(state, "b", {"type": "eat", "resource": "berries"}, {"inventory": {"berries": -1}, "energy": 100})


def test_eat_failures():
    state = world(agents={"a": {"x": 0, "y": 0, "inventory": {"wood": 3}}})
    failed(state, "a", {"type": "eat", "resource": "wood"}, "not_edible", 49)
    failed(state, "a", {"type": "eat"}, "insufficient_resources", 49)


def test_rest_recovers_more_in_a_hut():
    state = world(agents={"a": {"x": 0, "y": 0}, "b": {"x": 4, "y": 3}}, structures={(4, 3): "hut"})
    succeeded(state, "a", {"type": "rest"}, {"energy": 53})
    succeeded(state, "b", {"type": "rest"}, {"energy": 57})


def test_say_and_idle_only_decay():
    state = world(agents={"a": {"x": 0, "y": 0}})
    succeeded(state, "a", {"type": "say", "text": "hello"}, {"said": "hello", "energy": 49})
    succeeded(state, "a", {"type": "idle"}, {"energy": 49})


def test_agents_without_a_decision_idle():
    state = world(agents={"a": {"x": 0, "y": 0}, "b": {"x": 4, "y": 0}})
    outcomes = evaluate_tick(state, {}, tick=2, seed=1)
    assert [(k, d["agentId"], d["action"], d["effects"]) for k, d in outcomes] == [
        ("agent.action.succeeded", "a", {"type": "idle"}, {"energy": 49}),
        ("agent.action.succeeded", "b", {"type": "idle"}, {"energy": 49}),
    ]


# --- build --------------------------------------------------------------------------------


def test_build_a_hut():
    state = world(agents={"a": {"x": 0, "y": 3, "inventory": {"wood": 4, "stone": 2}}})
    succeeded(state, "a", {"type": "build", "structure": "hut"}, {
        "inventory": {"stone": -2, "wood": -3}, "score": 10,
        "structure": {"x": 0, "y": 3, "type": "hut"}, "energy": 43,
    })
    after = fold("world", state, evaluate_tick(state, {"a": {"type": "build", "structure": "hut"}}, tick=9, seed=1))
    assert after["structures"] == {"0,3": {"type": "hut", "owner": "a", "tick": 9}}
    assert after["agents"]["a"]["inventory"] == {"berries": 0, "stone": 0, "wood": 1}
    assert after["agents"]["a"]["score"] == 10


def test_build_failures():
    state = world(
        agents={
            "poor": {"x": 0, "y": 0, "inventory": {"wood": 3, "stone": 1}},
            "taken": {"x": 4, "y": 3, "inventory": {"wood": 3, "stone": 2}},
            "tired": {"x": 0, "y": 3, "energy": 5, "inventory": {"wood": 3, "stone": 2}},
        },
        structures={(4, 3): "campfire"},
    )
    failed(state, "poor", {"type": "build", "structure": "hut"}, "insufficient_resources", 49)
    failed(state, "taken", {"type": "build", "structure": "hut"}, "structure_exists", 49)
    failed(state, "tired", {"type": "build", "structure": "hut"}, "not_enough_energy", 4)


# --- give ---------------------------------------------------------------------------------


def test_give_to_an_adjacent_agent():
    state = world(agents={"a": {"x": 0, "y": 3, "inventory": {"berries": 3}}, "b": {"x": 1, "y": 2}})
    action = {"type": "give", "to": "b", "resource": "berries", "amount": 2}
    succeeded(state, "a", action, {
        "inventory": {"berries": -2}, "score": 1,
        "transfer": {"to": "b", "resource": "berries", "amount": 2}, "energy": 49,
    })
    after = fold("world", state, evaluate_tick(state, {"a": action}, tick=1, seed=1))
    assert after["agents"]["a"]["inventory"]["berries"] == 1
    assert after["agents"]["b"]["inventory"]["berries"] == 2


def test_give_failures():
    state = world(agents={
        "a": {"x": 0, "y": 3, "inventory": {"berries": 3}},
        "far": {"x": 3, "y": 3},
        "full": {"x": 1, "y": 3, "inventory": {"stone": 19}},
        "near": {"x": 0, "y": 2},
    })

    def give(to, amount=1):
        return {"type": "give", "to": to, "resource": "berries", "amount": amount}

    failed(state, "a", give("far"), "not_adjacent", 49)
    failed(state, "a", give("ghost"), "unknown_agent", 49)
    failed(state, "a", give("a"), "invalid_target", 49)
    failed(state, "a", give("near", 4), "insufficient_resources", 49)
    failed(state, "a", give("full", 2), "recipient_full", 49)


@pytest.mark.parametrize("seed", range(8))
def test_give_chain_resolves_in_turn_order(seed):
    state = world(agents={
        "a": {"x": 0, "y": 3, "inventory": {"berries": 1}}, "b": {"x": 1, "y": 3}, "c": {"x": 2, "y": 3},
    })
    decisions = {
        "b": {"type": "give", "to": "c", "resource": "berries", "amount": 1},
        "a": {"type": "give", "to": "b", "resource": "berries", "amount": 1},
    }
    outcomes = evaluate_tick(state, decisions, tick=1, seed=seed)
    reasons = {d["agentId"]: d["reason"] for _, d in outcomes}
    turn = order(["a", "b", "c"], seed)
    b_gave = turn.index("a") < turn.index("b")
    assert reasons == {"a": None, "b": None if b_gave else "insufficient_resources", "c": None}
    after = fold("world", state, outcomes)
    inventories = {aid: after["agents"][aid]["inventory"]["berries"] for aid in "abc"}
    assert inventories == ({"a": 0, "b": 0, "c": 1} if b_gave else {"a": 0, "b": 1, "c": 0})


# --- energy, invalid and foreign decisions ------------------------------------------------


def test_exhausted_agent_can_only_rest_eat_idle_or_say():
    state = world(agents={"z": {"x": 0, "y": 3, "energy": 0, "inventory": {"berries": 1, "wood": 3, "stone": 2}},
                          "y": {"x": 1, "y": 3}})
    failed(state, "z", {"type": "move", "dx": 0, "dy": -1}, "exhausted", 0)
    failed(state, "z", {"type": "gather"}, "exhausted", 0)
    failed(state, "z", {"type": "build", "structure": "hut"}, "exhausted", 0)
    failed(state, "z", {"type": "give", "to": "y", "resource": "wood", "amount": 1}, "exhausted", 0)
    succeeded(state, "z", {"type": "rest"}, {"energy": 3})
    succeeded(state, "z", {"type": "eat"}, {"inventory": {"berries": -1}, "energy": 14})
    succeeded(state, "z", {"type": "say", "text": "so tired"}, {"said": "so tired", "energy": 0})
    succeeded(state, "z", {"type": "idle"}, {"energy": 0})


def test_invalid_decision_fails_and_is_recorded_as_given():
    state = world(agents={"a": {"x": 0, "y": 0}})
    kind, data = outcome(state, "a", {"type": "move", "dx": 5, "dy": 0})
    assert (kind, data["action"], data["reason"], data["effects"]) == (
        "agent.action.failed", {"type": "move", "dx": 5, "dy": 0}, "invalid_action", {"energy": 49},
    )
    kind, data = outcome(state, "a", "jump")
    assert (data["action"], data["reason"]) == ({"value": "jump"}, "invalid_action")
    kind, data = outcome(state, "a", {"type": object()})
    assert data["action"]["unrecordable"].startswith("{'type': <object object")
    canonical_json(data)


def test_paused_and_unknown_agents_fail_without_effects():
    state = world(agents={"p": {"x": 0, "y": 0, "status": "paused"}, "q": {"x": 4, "y": 0, "status": "paused"}})
    outcomes = evaluate_tick(state, {"p": {"type": "rest"}, "zed": {"type": "idle"}}, tick=3, seed=1)
    assert outcomes == [
        ("agent.action.failed",
         {"agentId": "p", "tick": 3, "action": {"type": "rest"}, "reason": "agent_paused", "effects": {}}),
        ("agent.action.failed",
         {"agentId": "zed", "tick": 3, "action": {"type": "idle"}, "reason": "unknown_agent", "effects": {}}),
    ]


def test_decision_keys_must_be_agent_ids():
    with pytest.raises(TypeError, match="decision keys must be agent ids"):
        evaluate_tick(world(), {7: {"type": "idle"}}, tick=1, seed=1)


def test_evaluate_does_not_touch_its_inputs():
    state = world(agents={"a": {"x": 2, "y": 0, "inventory": {"berries": 1}}, "b": {"x": 3, "y": 0}})
    decisions = {"a": {"type": "give", "to": "b", "resource": "berries", "amount": 1}, "b": {"type": "gather", "dx": -1}}
    before = canonical_json([state, decisions])
    evaluate_tick(state, decisions, tick=1, seed=1)
    assert canonical_json([state, decisions]) == before


def test_from_rules_version_2_an_agent_owns_at_most_three_structures():
    from selfplay.world.rules import MAX_STRUCTURES_PER_AGENT

    state = world(agents={"ada": {"x": 0, "y": 3, "inventory": {"wood": 20}}})
    for x in range(MAX_STRUCTURES_PER_AGENT):
        state["structures"][f"{x + 1},0"] = {"type": "campfire", "owner": "ada", "tick": 1}
    build = {"ada": {"type": "build", "structure": "campfire"}}
    assert state["rulesVersion"] >= 2
    [(kind, data)] = evaluate_tick(state, build, tick=5, seed=1)
    assert (kind, data["reason"]) == ("agent.action.failed", "structure_limit")
    # A world created under version 1 keeps the rule it was played with: replays stay exact.
    state["rulesVersion"] = 1
    [(kind, _)] = evaluate_tick(state, build, tick=5, seed=1)
    assert kind == "agent.action.succeeded"
