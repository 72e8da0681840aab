"""Errors of the event store. Database errors never leak: they are mapped to these."""

from __future__ import annotations


class EventStoreError(Exception):
    """Base class of every error the event store raises."""


class InvalidStreamId(EventStoreError, ValueError):
    """A stream id that is not `<kind>:<name>` with a known kind and a valid name."""


class InvalidEvent(EventStoreError, ValueError):
    """An event whose type, data or metadata cannot be stored."""


class WrongExpectedVersion(EventStoreError):
    """The stream's head is not what the caller expected; nothing was written."""

    def __init__(self, stream_id: str, expected: object, actual: int) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, expected {expected}"
        )


class EventIdConflict(EventStoreError):
    """An event id already recorded with other content (or in another place)."""

    def __init__(self, event_id: str, detail: str) -> None:
        self.event_id = event_id
        super().__init__(f"event id {event_id} is already recorded {detail}")


class AppendOnlyViolation(EventStoreError):
    """An attempt to update or delete a recorded event."""


class StoreUnavailable(EventStoreError):
    """The database could not be reached or stayed locked past the busy timeout."""
