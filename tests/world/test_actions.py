import pytest

from selfplay.world import ACTION_TYPES, InvalidAction, validate_action


def details_of(action) -> dict:
    with pytest.raises(InvalidAction) as caught:
        validate_action(action)
    return caught.value.details


def test_action_types_are_the_vocabulary():
    assert ACTION_TYPES == ("build", "eat", "gather", "give", "idle", "move", "rest", "say", "use")


@pytest.mark.parametrize(
    ("action", "normalised"),
    [
        ({"type": "move", "dx": 1, "dy": -1}, {"type": "move", "dx": 1, "dy": -1}),
        ({"type": "gather"}, {"type": "gather", "dx": 0, "dy": 0}),
        ({"type": "gather", "dx": -1, "dy": 0}, {"type": "gather", "dx": -1, "dy": 0}),
        ({"type": "eat"}, {"type": "eat", "resource": "berries"}),
        ({"type": "eat", "resource": "wood"}, {"type": "eat", "resource": "wood"}),
        ({"type": "rest"}, {"type": "rest"}),
        ({"type": "build", "structure": "hut"}, {"type": "build", "structure": "hut"}),
        (
            {"type": "give", "to": "bob-2", "resource": "stone", "amount": 3},
            {"type": "give", "to": "bob-2", "resource": "stone", "amount": 3},
        ),
        ({"type": "say", "text": "x" * 140}, {"type": "say", "text": "x" * 140}),
        ({"type": "idle"}, {"type": "idle"}),
    ],
)
def test_valid_actions_are_normalised(action, normalised):
    assert validate_action(action) == normalised


def test_validation_returns_a_new_dict():
    action = {"type": "gather"}
    validate_action(action)["dx"] = 5
    assert action == {"type": "gather"}


@pytest.mark.parametrize(
    ("action", "details"),
    [
        ("move", {"action": "must be an object with a 'type'"}),
        (None, {"action": "must be an object with a 'type'"}),
        ({}, {"type": "required"}),
        ({"type": "fly"}, {"type": "must be one of build, eat, gather, give, idle, move, rest, say, use"}),
        ({"type": 3}, {"type": "must be one of build, eat, gather, give, idle, move, rest, say, use"}),
        ({"type": "move", "dx": 1}, {"dy": "required"}),
        ({"type": "move", "dx": 2, "dy": 0}, {"dx": "must be an integer in -1..1"}),
        ({"type": "move", "dx": True, "dy": 0}, {"dx": "must be an integer in -1..1"}),
        ({"type": "move", "dx": 1.0, "dy": 0}, {"dx": "must be an integer in -1..1"}),
        ({"type": "move", "dx": 0, "dy": 0}, {"action": "dx and dy cannot both be 0"}),
        ({"type": "rest", "now": True}, {"now": "unexpected field for 'rest'"}),
        ({"type": "gather", "dy": -2}, {"dy": "must be an integer in -1..1"}),
        ({"type": "eat", "resource": "gold"}, {"resource": "must be one of berries, stone, wood"}),
        ({"type": "build", "structure": "castle"}, {"structure": "must be one of campfire, hut"}),
        ({"type": "build"}, {"structure": "required"}),
        (
            {"type": "give", "to": "Bob!", "resource": "wood", "amount": 0},
            {
                "amount": "must be an integer in 1..20",
                "to": "must be an agent id ([a-z0-9][a-z0-9-]{0,63})",
            },
        ),
        ({"type": "give", "to": "bob", "resource": "wood"}, {"amount": "required"}),
        ({"type": "say", "text": "x" * 141}, {"text": "must be at most 140 characters (got 141)"}),
        ({"type": "say", "text": "   "}, {"text": "must not be blank"}),
        ({"type": "say", "text": ["hi"]}, {"text": "must be a string"}),
    ],
)
def test_invalid_actions_name_each_bad_field(action, details):
    assert details_of(action) == details


def test_invalid_action_is_a_value_error_with_a_readable_message():
    with pytest.raises(ValueError, match=r"^dx: must be an integer in -1..1; extra: unexpected"):
        validate_action({"type": "move", "dx": 9, "dy": 0, "extra": 1})
