"""The action vocabulary and its validation.

An action is a JSON object with a "type" and that type's arguments, nothing else:

    move   {dx, dy}                    each in -1..1, not both 0
    gather {dx?, dy?}                  from the current tile, or an adjacent one
    eat    {resource?}                 default "berries"
    rest   {}
    build  {structure}                 one of rules.STRUCTURES, on the current tile
    give   {to, resource, amount}      to an adjacent agent, amount 1..INVENTORY_LIMIT
    say    {text}                      1..140 characters
    idle   {}

`validate_action` returns the normalised action (optional arguments filled in) so that a
recorded action always has the same shape, whichever client sent it.
"""

from __future__ import annotations

import re
from typing import Any

from .rules import INVENTORY_LIMIT, RESOURCES, SAY_MAX_CHARS, STRUCTURES

ACTION_TYPES = ("build", "eat", "gather", "give", "idle", "move", "rest", "say")

AGENT_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


class InvalidAction(ValueError):
    """An action that does not fit the vocabulary; `.details` maps field -> message."""

    def __init__(self, details: dict[str, str]):
        self.details = dict(sorted(details.items()))
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.details.items()))


def _step(value: Any) -> str | None:
    # bool is an int subclass; True is not a step.
    if type(value) is not int or not -1 <= value <= 1:
        return "must be an integer in -1..1"
    return None


def _choice(options: tuple[str, ...]) -> Any:
    def check(value: Any) -> str | None:
        if type(value) is not str or value not in options:
            return "must be one of " + ", ".join(options)
        return None

    return check


def _amount(value: Any) -> str | None:
    if type(value) is not int or not 1 <= value <= INVENTORY_LIMIT:
        return f"must be an integer in 1..{INVENTORY_LIMIT}"
    return None


def _agent_id(value: Any) -> str | None:
    if type(value) is not str or not AGENT_ID_RE.fullmatch(value):
        return "must be an agent id ([a-z0-9][a-z0-9-]{0,63})"
    return None


def _text(value: Any) -> str | None:
    if type(value) is not str:
        return "must be a string"
    if not value.strip():
        return "must not be blank"
    if len(value) > SAY_MAX_CHARS:
        return f"must be at most {SAY_MAX_CHARS} characters (got {len(value)})"
    return None


_RESOURCE = _choice(RESOURCES)
_STRUCTURE = _choice(tuple(sorted(STRUCTURES)))

# type -> (required {field: check}, optional {field: (check, default)})
_SCHEMAS: dict[str, tuple[dict, dict]] = {
    "move": ({"dx": _step, "dy": _step}, {}),
    "gather": ({}, {"dx": (_step, 0), "dy": (_step, 0)}),
    "eat": ({}, {"resource": (_RESOURCE, "berries")}),
    "rest": ({}, {}),
    "build": ({"structure": _STRUCTURE}, {}),
    "give": ({"to": _agent_id, "resource": _RESOURCE, "amount": _amount}, {}),
    "say": ({"text": _text}, {}),
    "idle": ({}, {}),
}


def validate_action(action: object) -> dict:
    """Return the normalised action, or raise InvalidAction naming each bad field."""
    if not isinstance(action, dict):
        raise InvalidAction({"action": "must be an object with a 'type'"})
    kind = action.get("type")
    if kind is None:
        raise InvalidAction({"type": "required"})
    if type(kind) is not str or kind not in _SCHEMAS:
        raise InvalidAction({"type": "must be one of " + ", ".join(ACTION_TYPES)})
    required, optional = _SCHEMAS[kind]
    details: dict[str, str] = {}
    normalised: dict[str, Any] = {"type": kind}
    for field, check in required.items():
        if field not in action:
            details[field] = "required"
            continue
        problem = check(action[field])
        if problem:
            details[field] = problem
        else:
            normalised[field] = action[field]
    for field, (check, default) in optional.items():
        value = action.get(field, default)
        problem = check(value)
        if problem:
            details[field] = problem
        else:
            normalised[field] = value
    for field in action:
        if field != "type" and field not in required and field not in optional:
            details[str(field)] = f"unexpected field for '{kind}'"
    if kind == "move" and not details and normalised["dx"] == normalised["dy"] == 0:
        details["action"] = "dx and dy cannot both be 0"
    if details:
        raise InvalidAction(details)
    return normalised
