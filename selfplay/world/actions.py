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
    use    {capability, args}          ask a capability plugin (from rules version 3); args a JSON
                                       object of at most USE_ARGS_MAX_CHARS canonical characters

`validate_action` returns the normalised action (optional arguments filled in) so that a
recorded action always has the same shape, whichever client sent it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from selfplay.canonical import canonical_json, storable

from .rules import INVENTORY_LIMIT, RESOURCES, SAY_MAX_CHARS, STRUCTURES, USE_ARGS_MAX_CHARS

ACTION_TYPES = ("build", "eat", "gather", "give", "idle", "move", "rest", "say", "use")

AGENT_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
CAPABILITY_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_UNPRINTABLE_RE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


class InvalidAction(ValueError):
    """An action that does not fit the vocabulary; `.details` maps field -> message."""

    def __init__(self, details: dict[str, str]):
        self.details = dict(sorted(details.items()))
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.details.items()))


@dataclass(frozen=True)
class Field:
    """One argument of an action: what it accepts, as a check and as a JSON schema.

    The one description of the vocabulary: `validate_action` checks with it, and the API's
    OpenAPI schema, the admin's override form and the players' override panel are built from it.
    """

    name: str
    kind: str  # step | choice | amount | agent | text | capability | object
    required: bool = True
    default: Any = None
    options: tuple[str, ...] = ()

    def check(self, value: Any) -> tuple[Any, str | None]:
        """Return (the value normalised, None) or (None, what is wrong with it)."""
        if self.kind in ("step", "amount"):
            # bool is an int subclass, and True is not a step; nor is 1.0 (recorded actions keep
            # their exact JSON, so the rule stays the one old logs were evaluated with).
            low, high = (-1, 1) if self.kind == "step" else (1, INVENTORY_LIMIT)
            if type(value) is not int or not low <= value <= high:
                return None, f"must be an integer in {low}..{high}"
        elif self.kind == "choice":
            if type(value) is not str or value not in self.options:
                return None, "must be one of " + ", ".join(self.options)
        elif self.kind == "agent":
            if type(value) is not str or not AGENT_ID_RE.fullmatch(value):
                return None, "must be an agent id ([a-z0-9][a-z0-9-]{0,63})"
        elif self.kind == "capability":
            if type(value) is not str or not CAPABILITY_RE.fullmatch(value):
                return None, "must be a capability name ([a-z][a-z0-9_]{0,31})"
        elif self.kind == "object":
            if type(value) is not dict:
                return None, "must be a JSON object"
            try:
                text = canonical_json(value)
            except (TypeError, ValueError):
                return None, "must be JSON (no NaN or infinities)"
            if not storable(value, text):
                return None, "must be storable JSON (no NUL, no unpaired surrogates, integers within 64 bits)"
            size = len(text)
            if size > USE_ARGS_MAX_CHARS:
                return None, f"must be at most {USE_ARGS_MAX_CHARS} characters as JSON (got {size})"
        elif self.kind == "text":
            if type(value) is not str:
                return None, "must be a string"
            if not value.strip():
                return None, "must not be blank"
            if _UNPRINTABLE_RE.search(value):
                return None, "must be printable text (no control characters or unpaired surrogates)"
            if len(value) > SAY_MAX_CHARS:
                return None, f"must be at most {SAY_MAX_CHARS} characters (got {len(value)})"
        return value, None

    def json_schema(self) -> dict:
        if self.kind == "step":
            return {"type": "integer", "minimum": -1, "maximum": 1}
        if self.kind == "amount":
            return {"type": "integer", "minimum": 1, "maximum": INVENTORY_LIMIT}
        if self.kind == "choice":
            return {"type": "string", "enum": list(self.options)}
        if self.kind == "agent":
            return {"type": "string", "pattern": "^" + AGENT_ID_RE.pattern + "$"}
        if self.kind == "capability":
            return {"type": "string", "pattern": "^" + CAPABILITY_RE.pattern + "$"}
        if self.kind == "object":
            return {"type": "object", "additionalProperties": True}
        # printable, not blank: some non-space character among no control characters
        return {"type": "string", "minLength": 1, "maxLength": SAY_MAX_CHARS,
                "pattern": "^[^\\x00-\\x1f\\x7f]*[^\\s\\x00-\\x1f\\x7f][^\\x00-\\x1f\\x7f]*$"}


_RESOURCE = dict(kind="choice", options=RESOURCES)

# type -> its arguments, in the order a form shows them.
ACTIONS: dict[str, tuple[Field, ...]] = {
    "build": (Field("structure", "choice", options=tuple(sorted(STRUCTURES))),),
    "eat": (Field("resource", required=False, default="berries", **_RESOURCE),),
    "gather": (Field("dx", "step", required=False, default=0), Field("dy", "step", required=False, default=0)),
    "give": (Field("to", "agent"), Field("resource", **_RESOURCE), Field("amount", "amount")),
    "idle": (),
    "move": (Field("dx", "step"), Field("dy", "step")),
    "rest": (),
    "say": (Field("text", "text"),),
    "use": (Field("capability", "capability"), Field("args", "object", required=False, default={})),
}
assert tuple(ACTIONS) == ACTION_TYPES


def validate_action(action: object) -> dict:
    """Return the normalised action, or raise InvalidAction naming each bad field."""
    if not isinstance(action, dict):
        raise InvalidAction({"action": "must be an object with a 'type'"})
    kind = action.get("type")
    if kind is None:
        raise InvalidAction({"type": "required"})
    if type(kind) is not str or kind not in ACTIONS:
        raise InvalidAction({"type": "must be one of " + ", ".join(ACTION_TYPES)})
    fields = ACTIONS[kind]
    details: dict[str, str] = {}
    normalised: dict[str, Any] = {"type": kind}
    for field in fields:
        if field.name not in action and field.required:
            details[field.name] = "required"
            continue
        value, problem = field.check(action.get(field.name, field.default))
        if problem:
            details[field.name] = problem
        else:
            normalised[field.name] = value
    known = {field.name for field in fields}
    for name in action:
        if name != "type" and name not in known:
            details[str(name)] = f"unexpected field for '{kind}'"
    if kind == "move" and not details and normalised["dx"] == normalised["dy"] == 0:
        details["action"] = "dx and dy cannot both be 0"
    if details:
        raise InvalidAction(details)
    return normalised


def action_schema() -> dict:
    """Return the JSON schema (OpenAPI 3.0) of an action: one exact object schema per type."""
    variants = []
    for kind, fields in ACTIONS.items():
        schema = {
            "type": "object", "title": kind, "additionalProperties": False,
            "properties": {"type": {"type": "string", "enum": [kind]},
                           **{field.name: field.json_schema() for field in fields}},
            "required": ["type", *(field.name for field in fields if field.required)],
        }
        if kind == "move":
            schema["not"] = {"properties": {"dx": {"enum": [0]}, "dy": {"enum": [0]}}, "required": ["dx", "dy"]}
        variants.append(schema)
    return {"oneOf": variants}
