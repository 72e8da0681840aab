"""The event store's public API (DESIGN §3). Import from here, not from the modules behind it."""

from .exceptions import (
    AppendOnlyViolation,
    EventIdConflict,
    EventStoreError,
    InvalidEvent,
    InvalidStreamId,
    StoreUnavailable,
    WrongExpectedVersion,
)
from .selectors import head_global_position, read_all, read_stream, stream_version
from .services import append, append_batch
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
    "append",
    "append_batch",
    "check_stream_id",
    "head_global_position",
    "read_all",
    "read_stream",
    "stream_version",
]
