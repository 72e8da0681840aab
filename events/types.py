"""Value types of the event store: what callers append and what they read back."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, NamedTuple

from .exceptions import InvalidStreamId

STREAM_KINDS = frozenset({"world", "agent", "verification", "system"})
# The pattern as JSON Schema writes it (`$` is the end of the text there); Python's `$` would
# also match before a final newline, so the check itself ends with `\Z`.
STREAM_ID_PATTERN = r"^(world|agent|verification|system):[a-z0-9][a-z0-9-]{0,63}$"
STREAM_ID_RE = re.compile(STREAM_ID_PATTERN[:-1] + r"\Z")
EVENT_TYPE_RE = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+\Z")
ACTOR_RE = re.compile(r"^(system|(agent|player|operator):[A-Za-z0-9@.+_-]{1,150})\Z")
CANONICAL_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")  # an event id


class _Seen:
    """Strings that already passed a check: a tick names the same few types and actors thousands
    of times, and so does a log read back (verify_chain), and a set lookup is a fraction of a
    regex match. Bounded, so a stream of made-up names cannot grow it."""

    LIMIT = 65_536

    def __init__(self, pattern, max_length: int) -> None:
        self.pattern, self.max_length, self.valid = pattern, max_length, set()

    def __call__(self, value: object) -> bool:
        if value in self.valid:
            return True
        if not (isinstance(value, str) and len(value) <= self.max_length and self.pattern.match(value)):
            return False
        if len(self.valid) >= self.LIMIT:
            self.valid.clear()
        self.valid.add(value)
        return True


valid_event_type = _Seen(EVENT_TYPE_RE, 100)
valid_actor = _Seen(ACTOR_RE, 160)


class _ExpectedVersion:
    """A named expected-version marker (ANY, NO_STREAM, STREAM_EXISTS)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ANY = _ExpectedVersion("ANY")
NO_STREAM = _ExpectedVersion("NO_STREAM")
STREAM_EXISTS = _ExpectedVersion("STREAM_EXISTS")


class NewEvent(NamedTuple):
    """An event to append; the store assigns position, hashes and (when None) the id.

    A named tuple, as RecordedEvent is: immutable, and cheap to build by the thousand.
    """

    type: str
    data: dict[str, Any]
    metadata: dict[str, Any] | None = None
    id: str | None = None


class RecordedEvent(NamedTuple):
    """An event as stored (DESIGN §2), snake_case; `to_wire()` gives the camelCase JSON.

    A named tuple rather than a frozen dataclass: as immutable, and built in a quarter of the
    time (a tick records thousands and a replay reads millions).
    """

    id: str
    stream_id: str
    position: int
    global_position: int
    type: str
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime
    prev_hash: str
    hash: str

    @property
    def actor(self) -> str:
        return self.metadata.get("actor", "system")

    def to_wire(self) -> dict[str, Any]:
        """Return the event in the wire format of DESIGN §2."""
        return {
            "id": self.id,
            "streamId": self.stream_id,
            "position": self.position,
            "globalPosition": self.global_position,
            "type": self.type,
            "data": self.data,
            "metadata": self.metadata,
            "recordedAt": format_timestamp(self.recorded_at),
            "prevHash": self.prev_hash,
            "hash": self.hash,
        }


def format_timestamp(moment: datetime) -> str:
    """Format an aware UTC datetime as `2026-11-26T12:00:00.123456Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stream_kind(stream_id: str) -> str:
    """Return the kind of a valid stream id (`agent` for `agent:ada`)."""
    return stream_id.split(":", 1)[0]


def check_stream_id(stream_id: object) -> str:
    """Return a valid stream id or raise InvalidStreamId."""
    if not isinstance(stream_id, str) or not STREAM_ID_RE.match(stream_id):
        raise InvalidStreamId(
            f"invalid stream id {stream_id!r}: expected <kind>:<name> with kind in world, agent, "
            "verification, system and name matching [a-z0-9][a-z0-9-]{0,63}")
    return stream_id
