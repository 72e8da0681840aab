"""The `use` action (rules version 3): a capability request the world lets through unchanged."""

import pytest

from selfplay.world import InvalidAction, evaluate_tick, validate_action
from selfplay.world.rules import USE_ARGS_MAX_CHARS

from .worlds import world

USE = {"type": "use", "capability": "hash", "args": {"blob": "hello"}}


def test_use_is_normalised_with_empty_args_by_default():
    assert validate_action({"type": "use", "capability": "notify"}) == {
        "type": "use", "capability": "notify", "args": {}}
    assert validate_action(USE) == USE


@pytest.mark.parametrize(("action", "details"), [
    ({"type": "use"}, {"capability": "required"}),
    ({"type": "use", "capability": "Hash!"}, {"capability": "must be a capability name ([a-z][a-z0-9_]{0,31})"}),
    ({"type": "use", "capability": "hash", "args": [1]}, {"args": "must be a JSON object"}),
    ({"type": "use", "capability": "hash", "args": {"blob": "x" * USE_ARGS_MAX_CHARS}},
     {"args": f"must be at most {USE_ARGS_MAX_CHARS} characters as JSON (got {USE_ARGS_MAX_CHARS + 11})"}),
    ({"type": "use", "capability": "hash", "extra": 1}, {"extra": "unexpected field for 'use'"}),
    *(({"type": "use", "capability": "hash", "args": args},
       {"args": "must be storable JSON (no NUL, no unpaired surrogates, integers within 64 bits)"})
      for args in ({"a": "\u0000"}, {"a": "\ud800"}, {"\ud800": 1}, {"a": 2**64}, {"a": [-(2**63) - 1]})),
])
def test_bad_use_actions_name_each_bad_field(action, details):
    with pytest.raises(InvalidAction) as caught:
        validate_action(action)
    assert caught.value.details == details


def test_use_succeeds_costing_only_the_tick_decay_and_names_the_capability():
    state = world(agents={"ada": {"x": 0, "y": 3, "energy": 50}})
    [(kind, data)] = evaluate_tick(state, {"ada": USE}, tick=4, seed=1)
    assert kind == "agent.action.succeeded"
    assert data == {"agentId": "ada", "tick": 4, "action": USE, "reason": None,
                    "effects": {"capability": "hash", "energy": 49}}


def test_use_is_allowed_at_zero_energy():
    state = world(agents={"ada": {"x": 0, "y": 3, "energy": 0}})
    [(kind, data)] = evaluate_tick(state, {"ada": USE}, tick=4, seed=1)
    assert (kind, data["effects"]) == ("agent.action.succeeded", {"capability": "hash", "energy": 0})


@pytest.mark.parametrize("version", [1, 2])
def test_worlds_under_older_rules_still_refuse_use_as_they_did(version):
    state = world(agents={"ada": {"x": 0, "y": 3, "energy": 50}})
    state["rulesVersion"] = version
    [(kind, data)] = evaluate_tick(state, {"ada": {"type": "use", "capability": "hash"}}, tick=4, seed=1)
    # Exactly what rules version 2 recorded for an unknown action type: the raw action, kept.
    assert (kind, data["reason"], data["action"], data["effects"]) == (
        "agent.action.failed", "invalid_action", {"type": "use", "capability": "hash"}, {"energy": 49})
