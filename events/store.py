"""The event store's public API (DESIGN §3). Import from here, not from the modules behind it.

`record` is the one way to write: it appends, projects, runs the after-record hooks and
publishes after commit. (The raw append behind it, `events.raw`, is private to this package.)
"""

from .anchors import anchor_heads
from .exceptions import (
    AppendOnlyViolation,
    EventIdConflict,
    EventStoreError,
    InvalidEvent,
    InvalidStreamId,
    StoreUnavailable,
    WrongExpectedVersion,
)
from .ids import new_event_id, new_event_ids
from .selectors import (
    event_exists,
    head_global_position,
    one_snapshot,
    read_all,
    read_all_for_folds,
    read_stream,
    read_stream_backwards,
    stream_version,
)
from .services import record
from .types import ANY, NO_STREAM, STREAM_EXISTS, NewEvent, RecordedEvent, check_stream_id

__all__ = [
    "ANY",
    "NO_STREAM",
    "STREAM_EXISTS",
    "AppendOnlyViolation",
    "EventIdConflict",
    "EventStoreError",
    "InvalidEvent",
    "InvalidStreamId",
    "NewEvent",
    "RecordedEvent",
    "StoreUnavailable",
    "WrongExpectedVersion",
    "anchor_heads",
    "check_stream_id",
    "event_exists",
    "head_global_position",
    "new_event_id",
    "new_event_ids",
    "one_snapshot",
    "read_all",
    "read_all_for_folds",
    "read_stream",
    "read_stream_backwards",
    "record",
    "stream_version",
]
