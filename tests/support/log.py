"""Writing to the log in tests the way the product does: through `events.store.record`."""

from events.store import ANY, NewEvent, RecordedEvent, record


def record_to(stream_id: str, events: list[NewEvent], expected_version=ANY, **options) -> list[RecordedEvent]:
    """Record events to one stream (projected, hooked and published like any others)."""
    return record([(stream_id, events, expected_version)], **options)
