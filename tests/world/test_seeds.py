import hashlib
import random

from selfplay.world import agent_rng, agent_seed, derive_seed, tick_seed
from selfplay.world.seeds import below, shuffled


def test_tick_seed_is_a_sha256_prefix_of_its_parts():
    expected = int(hashlib.sha256(b"selfplay.tick\x1f7\x1f1").hexdigest()[:16], 16)
    assert tick_seed(7, 1) == expected == 10120409630016119985


def test_tick_seeds_differ_per_tick_and_world():
    assert tick_seed(7, 2) == 15069083071679266193
    assert len({tick_seed(w, t) for w in range(5) for t in range(50)}) == 250


def test_agent_seed_and_rng_are_stable():
    assert agent_seed(7, 1, "ada") == 7162275559393971044
    assert agent_rng(7, 1, "ada").random() == random.Random(7162275559393971044).random()
    assert agent_seed(7, 1, "ada") != agent_seed(7, 1, "bob")


def test_derive_seed_separates_its_parts():
    assert derive_seed("a", "bc") != derive_seed("ab", "c")


def test_shuffled_is_a_fixed_permutation_for_a_seed():
    items = list("abcdef")
    assert shuffled(items, random.Random(42)) == ["c", "f", "e", "b", "a", "d"]
    assert items == list("abcdef")
    assert sorted(shuffled(range(100), random.Random(3))) == list(range(100))


def test_below_stays_in_range():
    rng = random.Random(5)
    draws = [below(rng, 4) for _ in range(400)]
    assert set(draws) == {0, 1, 2, 3}
