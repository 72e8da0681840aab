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


def canonical_json(value: Any) -> str:
    """Return the canonical JSON text of a value: sorted keys, no spaces, UTF-8, no NaN."""
    return _encoder.encode(value)


def sha256_hex(text: str) -> str:
    """Return the lowercase hex SHA-256 of a text encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def checksum(state: Any) -> str:
    """Return sha256(canonical_json(state)), the checksum of a projection's state."""
    return sha256_hex(canonical_json(state))
