import pytest

from agents.brains import (
    BUILTIN_BRAINS,
    Brain,
    UnknownBrain,
    brains_by_name,
    load_brain,
    resolve_brain,
)
from agents.brains.builder import Builder
from agents.brains.forager import Forager
from agents.brains.trader import Trader
from agents.brains.wanderer import Wanderer


def test_load_brain_returns_one_shared_instance():
    brain = load_brain("agents.brains.forager.Forager")
    assert type(brain) is Forager
    assert load_brain("agents.brains.forager.Forager") is brain


def test_brains_by_name_loads_a_mapping():
    brains = brains_by_name(BUILTIN_BRAINS)
    assert {name: type(b) for name, b in brains.items()} == {
        "builder": Builder, "forager": Forager, "trader": Trader, "wanderer": Wanderer,
    }
    assert brains_by_name({"gatherer": "agents.brains.forager.Forager"})["gatherer"] is brains["forager"]


def test_resolve_brain_by_name():
    assert type(resolve_brain("wanderer")) is Wanderer
    assert type(resolve_brain("x", {"x": "agents.brains.trader.Trader"})) is Trader
    with pytest.raises(UnknownBrain, match="unknown brain 'oracle'; known brains: builder, forager, trader, wanderer"):
        resolve_brain("oracle")
    with pytest.raises(UnknownBrain, match="known brains: none"):
        resolve_brain("forager", {})


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("Forager", "'Forager' is not a dotted path like 'package.module.Class'"),
        ("agents.brains.nowhere.Brain", "cannot import brain module 'agents.brains.nowhere'"),
        ("agents.brains.forager.Farmer", "module 'agents.brains.forager' has no brain class 'Farmer'"),
        ("agents.brains.forager.HUNGRY", "'agents.brains.forager.HUNGRY' is not a subclass of agents.brains.Brain"),
        ("random.Random", "'random.Random' is not a subclass of agents.brains.Brain"),
    ],
)
def test_load_brain_fails_clearly(path, message):
    with pytest.raises(UnknownBrain, match=message.replace(".", r"\.").replace("(", r"\(")):
        load_brain(path)


def test_unknown_brain_is_a_lookup_error():
    assert issubclass(UnknownBrain, LookupError)
    assert issubclass(type(load_brain("agents.brains.builder.Builder")), Brain)
