"""The event store contract (DESIGN §2–3). `make test` runs it on SQLite and on PostgreSQL."""  # noqa: I001

import uuid
from datetime import UTC, datetime

import pytest
from django.db import DatabaseError, connection, transaction

from events.chain import verify_chains
from events.hashing import event_hash
from events.models import Event, Stream

# The contract of the append itself, below projections and hooks: the store's own tests use the
# raw append (events.raw); everything else records through events.store.record.
from events.raw import append, append_batch
from events.store import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    AppendOnlyViolation,
    EventIdConflict,
    InvalidEvent,
    InvalidStreamId,
    NewEvent,
    WrongExpectedVersion,
    read_all,
    read_stream,
)
from selfplay.canonical import canonical_json

pytestmark = pytest.mark.django_db


def moves(n: int, start: int = 0) -> list[NewEvent]:
    return [NewEvent("agent.moved", {"step": start + i}, {"actor": "agent:ada"}) for i in range(n)]


def event_count() -> int:
    return Event.objects.count()


class EventStoreContract:
    """Behaviour every backend must show; subclassed once below, run once per backend."""

    def test_positions_are_one_based_and_gapless(self):
        append("agent:ada", moves(3))
        append("agent:ada", moves(2, start=3))
        events = read_stream("agent:ada")
        assert [e.position for e in events] == [1, 2, 3, 4, 5]
        assert [e.data["step"] for e in events] == [0, 1, 2, 3, 4]

    def test_global_positions_increase_across_streams_in_append_order(self):
        append("agent:ada", moves(2))
        append("agent:bob", moves(1))
        append("agent:ada", moves(1, start=2))
        events = read_all()
        assert [(e.stream_id, e.position) for e in events] == [
            ("agent:ada", 1), ("agent:ada", 2), ("agent:bob", 1), ("agent:ada", 3)]
        positions = [e.global_position for e in events]
        assert positions == sorted(positions) and len(set(positions)) == 4

    def test_read_windows_and_prefix(self):
        append("agent:ada", moves(5))
        append("world:meadow", [NewEvent("world.created", {"region": "meadow"})])
        assert [e.position for e in read_stream("agent:ada", after=2, limit=2)] == [3, 4]
        assert [e.stream_id for e in read_all(stream_prefix="world:")] == ["world:meadow"]
        first_two = read_all(limit=2)
        rest = read_all(after=first_two[-1].global_position)
        assert len(first_two) + len(rest) == 6
        assert read_stream("agent:nobody") == []

    def test_expected_version_mismatch_raises_and_writes_nothing(self):
        append("agent:ada", moves(2))
        with pytest.raises(WrongExpectedVersion) as caught:
            append("agent:ada", moves(1), expected_version=1)
        assert (caught.value.stream_id, caught.value.actual, caught.value.expected) == ("agent:ada", 2, 1)
        assert event_count() == 2
        assert Stream.objects.get(id="agent:ada").version == 2

    def test_conflict_in_a_batch_writes_nothing_at_all(self):
        append("agent:ada", moves(1))
        with pytest.raises(WrongExpectedVersion):
            append_batch([("agent:bob", moves(2), NO_STREAM), ("agent:ada", moves(1), 0)])
        assert event_count() == 1
        assert not Stream.objects.filter(id="agent:bob").exists()

    def test_named_expected_versions(self):
        with pytest.raises(WrongExpectedVersion):
            append("agent:ada", moves(1), expected_version=STREAM_EXISTS)
        append("agent:ada", moves(1), expected_version=NO_STREAM)
        with pytest.raises(WrongExpectedVersion):
            append("agent:ada", moves(1), expected_version=NO_STREAM)
        append("agent:ada", moves(1), expected_version=STREAM_EXISTS)
        append("agent:ada", moves(1), expected_version=2)
        append("agent:ada", moves(1), expected_version=ANY)
        assert [e.position for e in read_stream("agent:ada")] == [1, 2, 3, 4]

    def test_exact_expected_version_zero_means_empty_stream(self):
        recorded = append("agent:ada", moves(1), expected_version=0)
        assert recorded[0].position == 1

    def test_idempotent_retry_returns_the_first_answer_and_writes_nothing(self):
        ids = [str(uuid.uuid4()), str(uuid.uuid4())]
        events = [NewEvent("agent.moved", {"n": i}, {"actor": "agent:ada"}, id=ids[i]) for i in range(2)]
        first = append("agent:ada", events, expected_version=NO_STREAM)
        append("agent:ada", moves(1))  # the stream moves on
        retry = append("agent:ada", events, expected_version=NO_STREAM)
        assert retry == first
        assert event_count() == 3

    def test_a_batch_with_a_retried_item_answers_in_the_order_of_its_items(self):
        retried = [NewEvent("agent.moved", {"n": 0}, id=str(uuid.uuid4()))]
        first = append("agent:bob", retried)
        answer = append_batch([("agent:ada", moves(2), ANY), ("agent:bob", retried, ANY),
                               ("agent:cy", moves(1), ANY), ("agent:bob", [], ANY)])
        assert [(e.stream_id, e.position) for e in answer] == [
            ("agent:ada", 1), ("agent:ada", 2), ("agent:bob", 1), ("agent:cy", 1)]
        assert answer[2] == first[0]
        assert answer[3].global_position == answer[1].global_position + 1  # the retry took none
        only_retries = append_batch([("agent:bob", retried, ANY)])
        assert only_retries == first and event_count() == 4

    def test_same_id_with_other_content_is_refused(self):
        event_id = str(uuid.uuid4())
        append("agent:ada", [NewEvent("agent.moved", {"n": 1}, id=event_id)])
        with pytest.raises(EventIdConflict):
            append("agent:ada", [NewEvent("agent.moved", {"n": 2}, id=event_id)])
        with pytest.raises(EventIdConflict):
            append("agent:bob", [NewEvent("agent.moved", {"n": 1}, id=event_id)])
        assert event_count() == 1

    def test_partial_retry_is_refused(self):
        known = NewEvent("agent.moved", {"n": 1}, id=str(uuid.uuid4()))
        append("agent:ada", [known])
        with pytest.raises(EventIdConflict):
            append("agent:ada", [known, NewEvent("agent.moved", {"n": 2}, id=str(uuid.uuid4()))])
        assert event_count() == 1

    def test_chains_link_and_hashes_recompute(self):
        append("agent:ada", moves(3))
        events = read_stream("agent:ada")
        assert events[0].prev_hash == ""
        for before, after in zip(events, events[1:], strict=False):
            assert after.prev_hash == before.hash
        for e in events:
            assert e.hash == event_hash(prev_hash=e.prev_hash, event_id=e.id, stream_id=e.stream_id,
                                        position=e.position, type=e.type, data=e.data, metadata=e.metadata)
        assert Stream.objects.get(id="agent:ada").head_hash == events[-1].hash
        assert verify_chains().intact

    def test_new_and_recorded_events_cannot_be_changed(self):
        [new] = moves(1)
        [event] = append("agent:ada", [new])
        for name in ("type", "data", "id"):
            with pytest.raises(AttributeError):
                setattr(new, name, None)
        for name in ("position", "hash", "data"):
            with pytest.raises(AttributeError):
                setattr(event, name, None)
        assert read_stream("agent:ada") == [event]

    def test_wire_format(self):
        recorded = append("agent:ada", [NewEvent("agent.action.submitted", {"tick": 17},
                                                 {"actor": "agent:ada", "tick": 17})])[0]
        wire = read_stream("agent:ada")[0].to_wire()
        assert set(wire) == {"id", "streamId", "position", "globalPosition", "type", "data",
                             "metadata", "recordedAt", "prevHash", "hash"}
        assert wire["id"] == str(uuid.UUID(wire["id"])) and wire["id"] == recorded.id
        assert wire["recordedAt"].endswith("Z") and len(wire["recordedAt"]) == 27
        assert wire["metadata"] == {"actor": "agent:ada", "tick": 17}
        assert len(wire["hash"]) == 64

    def test_generated_ids_are_distinct_uuids_ordered_by_their_time(self):
        early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
        first = append("agent:ada", moves(500), now=early)
        second = append("agent:ada", moves(1, 500), now=late)
        ids = [uuid.UUID(r.id) for r in first + second]
        assert len(set(ids)) == 501 and [str(i) for i in ids] == [r.id for r in first + second]
        assert {i.version for i in ids} == {7} and {i.variant for i in ids} == {uuid.RFC_4122}
        # The first 48 bits are the append's clock in milliseconds: ids of later appends sort later.
        assert {i.int >> 80 for i in ids[:500]} == {int(early.timestamp() * 1000)}
        assert max(ids[:500]) < ids[500]

    def test_actor_defaults_to_system_and_must_be_well_formed(self):
        assert append("system:clock", [NewEvent("system.started", {})])[0].metadata == {"actor": "system"}
        with pytest.raises(InvalidEvent):
            append("agent:ada", [NewEvent("agent.moved", {}, {"actor": "somebody"})])

    def test_raw_update_and_delete_are_refused_by_the_database(self):
        append("agent:ada", moves(1))
        for sql in ("UPDATE events_event SET type = 'x.y'", "DELETE FROM events_event",
                    "DELETE FROM events_stream"):
            with pytest.raises(DatabaseError, match="append-only"):
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(sql)
        assert read_stream("agent:ada")[0].type == "agent.moved"

    def test_orm_update_and_delete_are_refused(self):
        append("agent:ada", moves(1))
        with pytest.raises(AppendOnlyViolation):
            Event.objects.all().delete()
        with pytest.raises(AppendOnlyViolation):
            Event.objects.update(type="x.y")
        event = Event.objects.get()
        with pytest.raises(AppendOnlyViolation):
            event.save()
        assert event_count() == 1

    @pytest.mark.parametrize("stream_id", ["ada", "agent:", "agent:Ada", "robot:ada", "agent:-x",
                                           "agent:" + "a" * 65, None, 7])
    def test_invalid_stream_ids_are_refused(self, stream_id):
        with pytest.raises(InvalidStreamId):
            append(stream_id, moves(1))
        assert event_count() == 0

    @pytest.mark.parametrize("event", [
        NewEvent("Moved", {}), NewEvent("agent.moved", [1]), NewEvent("agent.moved", {"x": float("nan")}),
        NewEvent("agent.moved", {"x": object()}), NewEvent("agent.moved", {}, id="not-a-uuid"),
        NewEvent("agent.moved", {"x": [2**63]}), NewEvent("agent.moved", {}, {"tick": -(2**63) - 1}),
    ])
    def test_invalid_events_are_refused(self, event):
        with pytest.raises(InvalidEvent):
            append("agent:ada", [event])
        assert event_count() == 0


    def test_values_read_back_exactly_as_written(self):
        data = {"big": 2**63 - 1, "low": -(2**63), "digits": "1234567890123456789012", "float": 0.1 + 0.2,
                "tiny": 5e-324, "huge": 1.7976931348623157e308, "small": 1.5e-7, "text": "é\u2028\U0001f600",
                "nested": [{"a": [1.5, None, True]}], "label": "-0.0 e+16"}
        append("agent:ada", [NewEvent("agent.moved", data)])
        stored = read_all()[0]
        assert stored.data == data and canonical_json(stored.data) == canonical_json(data)
        assert verify_chains(stream_id="agent:ada").intact

    def test_a_float_postgresql_would_read_back_beyond_64_bits_is_refused(self):
        with pytest.raises(InvalidEvent):
            append("agent:ada", [NewEvent("agent.moved", {"v": 1e19})])
        assert event_count() == 0

    @pytest.mark.parametrize(("written", "recorded"), [
        (-0.0, 0.0), (1e16, 10**16), (-9e18, -9 * 10**18), ([{"x": -0.0}], [{"x": 0.0}]),
        (1e22, 1e22), (2.5e16, 25 * 10**15),
    ])
    def test_numbers_are_recorded_as_postgresql_reads_them_back(self, written, recorded):
        # jsonb keeps numbers as decimals: both backends record what it would give back, so the
        # recorded event, the stored row and the hash chain agree on either backend.
        [event] = append("agent:ada", [NewEvent("agent.moved", {"v": written})])
        stored = read_all()[0]
        assert canonical_json(event.data) == canonical_json(stored.data) == canonical_json({"v": recorded})
        assert verify_chains(stream_id="agent:ada").intact


class TestEventStore(EventStoreContract):
    """The contract on the backend of this run (SQLite by default, PostgreSQL under DATABASE_URL)."""
