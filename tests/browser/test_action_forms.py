"""The override panel's forms come from the action rules (no browser needed)."""

from __future__ import annotations

from agents.views import FIELD_INPUTS, action_forms
from selfplay.world import ACTION_TYPES, validate_action


def test_every_action_has_a_form_with_its_arguments_and_defaults():
    forms = {form["type"]: form["fields"] for form in action_forms()}
    assert sorted(forms) == sorted(ACTION_TYPES)
    shape = {kind: [(f["name"], f["input"], f["required"], f["default"]) for f in fields]
             for kind, fields in forms.items()}
    assert shape == {
        "build": [("structure", "choice", True, None)],
        "eat": [("resource", "choice", False, "berries")],
        "gather": [("dx", "step", False, 0), ("dy", "step", False, 0)],
        "give": [("to", "agent", True, None), ("resource", "choice", True, None), ("amount", "number", True, None)],
        "idle": [],
        "move": [("dx", "step", True, None), ("dy", "step", True, None)],
        "rest": [],
        "say": [("text", "text", True, None)],
    }
    assert forms["build"][0]["options"] == ["campfire", "hut"]
    amount = forms["give"][2]
    assert (amount["min"], amount["max"]) == (1, 20)
    assert all("sample" not in field for fields in forms.values() for field in fields)


def test_what_a_form_sends_by_default_is_a_valid_action():
    for form in action_forms():
        action = {"type": form["type"]}
        for field in form["fields"]:
            action[field["name"]] = field["default"] if field["default"] is not None else FIELD_INPUTS[field["name"]]["sample"]
        assert validate_action(action) == action
