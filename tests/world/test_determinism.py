"""Property: a tick is a pure function of state, decisions and seed."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from selfplay.canonical import canonical_json
from selfplay.world import close_tick, evaluate_tick, fold, world_checksum
from selfplay.world.rules import INVENTORY_LIMIT, MAX_ENERGY

from .worlds import world

ROWS = ("..b.f.", ".~b.r.", "..f.~.", "r....b")
LAND = [(x, y) for y, row in enumerate(ROWS) for x, c in enumerate(row) if c != "~"]
IDS = ["a", "b", "c", "d", "e", "f"]

step = st.integers(-1, 1)
resource = st.sampled_from(["berries", "stone", "wood"])
actions = st.one_of(
    st.builds(lambda dx, dy: {"type": "move", "dx": dx, "dy": dy}, step, step),
    st.builds(lambda dx, dy: {"type": "gather", "dx": dx, "dy": dy}, step, step),
    st.builds(lambda r: {"type": "eat", "resource": r}, resource),
    st.just({"type": "rest"}),
    st.builds(lambda s: {"type": "build", "structure": s}, st.sampled_from(["hut", "campfire"])),
    st.builds(lambda to, r, n: {"type": "give", "to": to, "resource": r, "amount": n},
              st.sampled_from(IDS + ["ghost"]), resource, st.integers(1, 3)),
    st.just({"type": "say", "text": "hi"}),
    st.just({"type": "idle"}),
    st.just({"type": "fly"}),  # invalid: recorded as a failure
)


@st.composite
def ticks(draw):
    count = draw(st.integers(1, len(IDS)))
    spots = draw(st.permutations(LAND))[:count]
    agents = {
        aid: {
            "x": x, "y": y, "energy": draw(st.integers(0, MAX_ENERGY)),
            "inventory": {r: draw(st.integers(0, 4)) for r in ("berries", "stone", "wood")},
            "status": draw(st.sampled_from(["active", "active", "active", "paused"])),
        }
        for aid, (x, y) in zip(IDS, spots, strict=False)
    }
    amounts = {spot: draw(st.integers(0, 2)) for spot in [(2, 0), (2, 1), (4, 0), (4, 1), (2, 2), (0, 3), (5, 3)]}
    decisions = draw(st.dictionaries(st.sampled_from(IDS), actions, max_size=len(IDS)))
    return world(ROWS, agents, amounts=amounts), decisions, draw(st.integers(0, 2**64 - 1))


@settings(max_examples=200, deadline=None, database=None)
@given(ticks(), st.randoms(use_true_random=False))
def test_a_tick_is_deterministic(case, shuffler: random.Random):
    state, decisions, seed = case
    state_before = canonical_json(state)
    outcomes = evaluate_tick(state, decisions, tick=3, seed=seed)
    items = list(decisions.items())
    shuffler.shuffle(items)
    reordered = evaluate_tick(state, dict(items), tick=3, seed=seed)
    assert canonical_json(reordered) == canonical_json(outcomes)
    assert canonical_json(evaluate_tick(state, decisions, tick=3, seed=seed)) == canonical_json(outcomes)
    assert canonical_json(state) == state_before

    first = world_checksum(fold("world", state, outcomes))
    assert world_checksum(fold("world", state, outcomes)) == first
    assert close_tick(state, outcomes, tick=3, duration_ms=0) == close_tick(state, outcomes, tick=3, duration_ms=0)

    # Outcomes are one per active agent plus one per other decision, sorted by agent id.
    active = {aid for aid, a in state["agents"].items() if a["status"] == "active"}
    assert [d["agentId"] for _, d in outcomes] == sorted(active | set(decisions))

    # The folded world still obeys the rules.
    after = fold("world", state, outcomes)
    positions = [(a["x"], a["y"]) for a in after["agents"].values()]
    assert len(set(positions)) == len(positions)
    assert all(ROWS[y][x] != "~" for x, y in positions)
    assert all(0 <= n for n in after["tiles"]["amounts"])
    for agent in after["agents"].values():
        assert 0 <= agent["energy"] <= MAX_ENERGY
        assert all(n >= 0 for n in agent["inventory"].values())
        assert sum(agent["inventory"].values()) <= INVENTORY_LIMIT
