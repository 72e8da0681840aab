"""The override panel's forms, the failure words and the map's terrain come from the rules (no
browser needed)."""

from __future__ import annotations

import ast
import inspect

from selfplay.web.pages import FIELD_INPUTS, action_forms, rules_config
from selfplay.world import ACTION_TYPES, evaluate, rules, validate_action


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
        "use": [("capability", "text", True, None), ("args", "json", False, {})],
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


def test_each_form_opens_on_a_valid_action_where_its_inputs_are_picked_from_lists():
    opened = {}
    for form in action_forms():
        if any(field["initial"] is None for field in form["fields"]):
            # A form that needs typing (text) or an agent picked from the page: nothing to start with.
            assert all(field["input"] in ("text", "agent") for field in form["fields"] if field["initial"] is None)
            continue
        action = {"type": form["type"], **{field["name"]: field["initial"] for field in form["fields"]}}
        assert validate_action(action) == action
        opened[form["type"]] = action
    assert opened["move"] == {"type": "move", "dx": 1, "dy": 0}  # not 0/0, which the rules refuse
    assert sorted(opened) == ["build", "eat", "gather", "idle", "move", "rest"]


def failure_reasons_in_the_rules() -> set[str]:
    """Every reason selfplay/world/evaluate.py can give: the strings `_Failed(…)` is raised with
    and the strings it assigns to `reason`."""
    tree = ast.parse(inspect.getsource(evaluate))
    found: set[str] = set()

    def strings(node):
        return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_Failed":
            found |= strings(node)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == "reason":
                    found |= strings(node.value)
                elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    found |= {value for t, v in zip(target.elts, node.value.elts, strict=True)
                              if isinstance(t, ast.Name) and t.id == "reason" for value in strings(v)}
    return found


def test_every_reason_an_action_can_fail_for_reads_as_words():
    reasons = failure_reasons_in_the_rules()
    assert {"not_adjacent", "lost_conflict", "out_of_bounds", "agent_paused", "invalid_action"} <= reasons
    assert sorted(rules_config()["failureReasons"]) == sorted(reasons)
    assert rules_config()["failureReasons"]["not_adjacent"] == "not next to them"
    assert rules_config()["failureReasons"]["lost_conflict"] == "lost a conflict over the tile"
    assert all("_" not in words for words in rules_config()["failureReasons"].values())


def test_the_map_gets_every_terrain_code_from_the_rules():
    terrain = rules_config()["terrain"]
    assert [t["code"] for t in terrain] == list(rules.TERRAIN_CODES)
    assert {t["code"]: t["resource"] for t in terrain if t["resource"]} == rules.RESOURCE_OF_TERRAIN
    assert len({t["name"] for t in terrain}) == len(terrain)
