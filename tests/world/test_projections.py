import copy

import pytest

from selfplay.canonical import canonical_json, checksum
from selfplay.world import (
    apply_agents,
    apply_leaderboard,
    apply_world,
    close_tick,
    end_tick,
    evaluate_tick,
    fold,
    initial_state,
    world_checksum,
)

from .worlds import created, spawned, world

REDUCERS = {"world": apply_world, "agents": apply_agents, "leaderboard": apply_leaderboard}


def outcome_event(agent_id, action, effects, *, reason=None, tick=1):
    kind = "agent.action.failed" if reason else "agent.action.succeeded"
    data = {"agentId": agent_id, "tick": tick, "action": action, "reason": reason, "effects": effects}
    return {"type": kind, "streamId": "world:test", "data": data}


def history() -> list[dict]:
    """Return a short, varied event history touching every projection.

    Reducers apply effects as recorded and never re-check the rules, which is why cyd's
    wood goes negative here.
    """
    return [
        created(amounts={(2, 0): 2}),
        spawned("ada", 2, 0),
        spawned("bob", 3, 0),
        spawned("cyd", 0, 3),
        outcome_event("ada", {"type": "gather"}, {
            "inventory": {"berries": 1}, "score": 1,
            "tile": {"x": 2, "y": 0, "resource": "berries", "delta": -1}, "energy": 77,
        }),
        outcome_event("bob", {"type": "move", "dx": 1, "dy": 0}, {"energy": 79}, reason="occupied"),
        outcome_event("cyd", {"type": "build", "structure": "campfire"}, {
            "inventory": {"wood": -2}, "score": 3, "structure": {"x": 0, "y": 3, "type": "campfire"},
            "energy": 73,
        }),
        {"type": "world.tick.completed", "data": {"tick": 1, "checksum": "x", "agents": 3, "durationMs": 4}},
        {"type": "agent.paused", "data": {"agentId": "bob"}},
        # The decisions of tick 2, from the agents' own streams: ada's brain, an override for cyd.
        {"type": "agent.action.submitted", "streamId": "agent:ada",
         "data": {"tick": 2, "region": "test", "action": {"type": "give"}, "source": "brain"}},
        {"type": "agent.action.submitted", "streamId": "agent:cyd",
         "data": {"tick": 2, "region": "test", "action": {"type": "move", "dx": 1, "dy": 0},
                  "source": "override", "reason": "come east"}},
        outcome_event("ada", {"type": "give", "to": "cyd", "resource": "berries", "amount": 1}, {
            "inventory": {"berries": -1}, "score": 1,
            "transfer": {"to": "cyd", "resource": "berries", "amount": 1}, "energy": 76,
        }, tick=2),
        outcome_event("cyd", {"type": "move", "dx": 1, "dy": 0}, {"x": 1, "y": 3, "energy": 71}, tick=2),
        {"type": "world.tick.completed", "data": {"tick": 2, "checksum": "y", "agents": 2, "durationMs": 4}},
        {"type": "checkpoint.created", "data": {"position": 9}},
    ]


def replay(name):
    return fold(name, initial_state(name, "test"), history())


def test_world_projection_after_history():
    state = replay("world")
    assert state["tick"] == 2
    assert state["agents"] == {
        "ada": {"name": "Ada", "brain": "forager", "owner": "olive", "x": 2, "y": 0, "energy": 76,
                "inventory": {"berries": 0, "stone": 0, "wood": 0}, "score": 2, "status": "active"},
        "bob": {"name": "Bob", "brain": "forager", "owner": "olive", "x": 3, "y": 0, "energy": 79,
                "inventory": {"berries": 0, "stone": 0, "wood": 0}, "score": 0, "status": "paused"},
        "cyd": {"name": "Cyd", "brain": "forager", "owner": "olive", "x": 1, "y": 3, "energy": 71,
                "inventory": {"berries": 1, "stone": 0, "wood": -2}, "score": 3, "status": "active"},
    }
    assert state["structures"] == {"0,3": {"type": "campfire", "owner": "cyd", "tick": 1}}
    # Tile 2 (berries) was gathered to 1 and regrows at ticks where (tick + 2) % 3 == 0: tick 1.
    assert state["tiles"]["amounts"][2] == 2
    assert (state["region"], state["seed"], state["width"], state["height"]) == ("test", 1, 5, 4)


def test_agents_projection_after_history():
    assert replay("agents") == {"agents": {
        "ada": {"region": "test", "owner": "olive", "status": "active", "brain": "forager", "name": "Ada",
                "lastTick": 2, "energy": 76, "score": 2,
                "lastAction": {"action": {"type": "give", "to": "cyd", "resource": "berries", "amount": 1},
                               "reason": None, "source": "brain", "overrideReason": None}},
        "bob": {"region": "test", "owner": "olive", "status": "paused", "brain": "forager", "name": "Bob",
                "lastTick": 1, "energy": 79, "score": 0,
                "lastAction": {"action": {"type": "move", "dx": 1, "dy": 0}, "reason": "occupied",
                               "source": None, "overrideReason": None}},
        "cyd": {"region": "test", "owner": "olive", "status": "active", "brain": "forager", "name": "Cyd",
                "lastTick": 2, "energy": 71, "score": 3,
                "lastAction": {"action": {"type": "move", "dx": 1, "dy": 0}, "reason": None,
                               "source": "override", "overrideReason": "come east"}},
    }}


def test_leaderboard_is_sorted_by_score_then_id():
    assert replay("leaderboard") == {"entries": [
        {"agentId": "cyd", "score": 3, "built": 1, "gathered": 0},
        {"agentId": "ada", "score": 2, "built": 0, "gathered": 1},
        {"agentId": "bob", "score": 0, "built": 0, "gathered": 0},
    ]}
    tie = fold("leaderboard", initial_state("leaderboard", "all"), [spawned("zed", 0, 0), spawned("amy", 1, 0)])
    assert [e["agentId"] for e in tie["entries"]] == ["amy", "zed"]


def test_initial_states():
    assert initial_state("agents", "all") == {"agents": {}}
    assert initial_state("leaderboard", "all") == {"entries": []}
    assert initial_state("world", "meadow") == {
        "region": "meadow", "seed": None, "rulesVersion": None, "tick": 0, "width": 0, "height": 0,
        "tiles": {"terrain": "", "amounts": []}, "agents": {}, "structures": {},
    }
    with pytest.raises(ValueError, match="unknown projection 'scores'"):
        initial_state("scores", "all")
    with pytest.raises(ValueError, match="unknown projection 'scores'"):
        fold("scores", {}, [])


@pytest.mark.parametrize("name", sorted(REDUCERS))
def test_reducers_are_pure_and_match_fold(name):
    reducer, state = REDUCERS[name], initial_state(name, "test")
    for event in history():
        before = canonical_json(state)
        after = reducer(state, event)
        assert canonical_json(state) == before
        state = after
    assert state == replay(name)


@pytest.mark.parametrize("name", sorted(REDUCERS))
def test_reducers_are_total(name):
    state = replay(name)
    for event in ({"type": "player.override.submitted", "data": {"action": {}}},
                  {"type": "something.new", "streamId": "system:x"},
                  {"type": "verification.flag.raised", "data": {"agentId": "ada"}}):
        assert REDUCERS[name](state, event) is state


def test_fold_copies_once_and_never_writes_into_its_input():
    start = replay("world")
    snapshot = copy.deepcopy(start)
    events = history()[4:8]
    result = fold("world", start, events)
    assert start == snapshot
    result["agents"]["ada"]["inventory"]["wood"] = 99
    result["tiles"]["amounts"][0] = 99
    result["structures"]["9,9"] = {}
    assert start == snapshot
    assert fold("world", start, [{"type": "checkpoint.created", "data": {}}]) is start


def test_fold_accepts_reducer_functions_pairs_and_plain_reducers():
    events = history()
    assert fold(apply_leaderboard, initial_state("leaderboard", "x"), events) == replay("leaderboard")
    pairs = [(e["type"], e.get("data")) for e in events]
    assert fold("world", initial_state("world", "test"), pairs) == replay("world")

    def count(state, event):
        return {"n": state["n"] + 1}

    assert fold(count, {"n": 0}, events) == {"n": len(events)}


def test_world_ignores_other_regions_and_repeats():
    state = fold("world", initial_state("world", "test"), [
        created(region="elsewhere"), created(), created(seed=99),
        spawned("ada", 0, 0), spawned("ada", 4, 3), spawned("bob", 1, 0, region="elsewhere"),
        {"type": "agent.paused", "data": {"agentId": "ghost"}},
        outcome_event("ghost", {"type": "idle"}, {"energy": 1}),
        outcome_event("ada", {"type": "give"}, {"transfer": {"to": "ghost", "resource": "wood", "amount": 1}}),
    ])
    assert state["seed"] == 1
    assert sorted(state["agents"]) == ["ada"]
    assert (state["agents"]["ada"]["x"], state["agents"]["ada"]["y"]) == (0, 0)


def test_regrowth_follows_the_schedule_and_caps():
    # Tile 2 holds berries (every 3 ticks, cap 5), tile 7 wood (every 6 ticks, cap 8).
    state = world(amounts={(2, 0): 0, (2, 1): 7})
    amounts = []
    for tick in range(1, 11):
        state = end_tick(state, tick=tick)
        amounts.append((state["tiles"]["amounts"][2], state["tiles"]["amounts"][7]))
    # Berries grow when (tick + 2) % 3 == 0; wood when (tick + 7) % 6 == 0, capped at 8.
    assert amounts == [(1, 7), (1, 7), (1, 7), (2, 7), (2, 8), (2, 8), (3, 8), (3, 8), (3, 8), (4, 8)]
    assert state["tick"] == 10


def test_a_replayed_tick_completion_does_not_regrow_twice():
    state = end_tick(world(amounts={(2, 0): 0}), tick=1)
    assert state["tiles"]["amounts"][2] == 1
    assert end_tick(state, tick=1) == state


def test_skipped_ticks_move_the_clock_without_regrowth():
    state = world(amounts={(2, 0): 0})
    state = apply_world(state, {"type": "world.ticks.skipped", "data": {"fromTick": 1, "toTick": 30}})
    assert (state["tick"], state["tiles"]["amounts"][2]) == (30, 0)


def test_checksum_ignores_event_ids_and_wall_time():
    events = history()
    stamped = [{**e, "id": f"id-{i}", "recordedAt": f"2026-01-0{i % 9 + 1}T00:00:00Z"} for i, e in enumerate(events)]
    state = replay("world")
    assert world_checksum(fold("world", initial_state("world", "test"), stamped)) == world_checksum(state)
    assert world_checksum(state) == checksum(state)


def test_close_tick_folds_outcomes_and_completion_with_its_checksum():
    state = world(agents={"a": {"x": 2, "y": 0}, "b": {"x": 0, "y": 3, "status": "paused"}}, amounts={(2, 0): 1})
    outcomes = evaluate_tick(state, {"a": {"type": "gather"}}, tick=1, seed=4)
    data, after = close_tick(state, outcomes, tick=1, duration_ms=12)
    expected = fold("world", state, outcomes + [("world.tick.completed", {"tick": 1})])
    assert after == expected
    assert data == {"tick": 1, "checksum": world_checksum(expected), "agents": 1, "durationMs": 12}
    # The recorded completion event rebuilds the same state.
    event = {"type": "world.tick.completed", "data": data}
    assert world_checksum(fold("world", fold("world", state, outcomes), [event])) == data["checksum"]
    assert after["tiles"]["amounts"][2] == 1  # gathered to 0, regrown at tick 1
