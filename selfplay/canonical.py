"""Canonical JSON and checksums shared by the event store, projections and the game.

Imports nothing from Django so the pure game logic can use it too.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

_encoder = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def _not_serialisable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# The C encoder, built once: JSONEncoder.encode builds a new one (and a circular-reference
# table) on every call, which is most of the cost for the small dicts events carry. A circular
# value then fails with RecursionError instead of ValueError.
_c_encode = (
    json.encoder.c_make_encoder(None, _not_serialisable, json.encoder.encode_basestring, None,
                                ":", ",", True, False, False)
    if json.encoder.c_make_encoder is not None else None
)


def canonical_json(value: Any) -> str:
    """Return the canonical JSON text of a value: sorted keys, no spaces, UTF-8, no NaN."""
    if _c_encode is None or isinstance(value, str | int | float | bool) or value is None:
        return _encoder.encode(value)
    return "".join(_c_encode(value, 0))


def sha256_hex(text: str) -> str:
    """Return the lowercase hex SHA-256 of a text encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# The last few values checksummed, by identity (each entry holds its value, so an id is never
# reused while it is here). A tick checksums the new world state, then stores its text and a
# checkpoint may snapshot it: one encoding serves all three. States are values — reducers build
# new ones and never change a state once returned — so a remembered text cannot go stale.
_RECENT_LIMIT = 16
_recent: dict[int, tuple[Any, str, str]] = {}


def canonical_text(value: Any) -> tuple[str, str]:
    """Return (canonical_json(value), its sha256), reusing a recent encoding of this very value."""
    hit = _recent.get(id(value))
    if hit is not None and hit[0] is value:
        return hit[1], hit[2]
    text = canonical_json(value)
    digest = sha256_hex(text)
    if isinstance(value, dict | list):
        if len(_recent) >= _RECENT_LIMIT:
            _recent.pop(next(iter(_recent)))
        _recent[id(value)] = (value, text, digest)
    return text, digest


def checksum(state: Any) -> str:
    """Return sha256(canonical_json(state)), the checksum of a projection's state."""
    return canonical_text(state)[1]
