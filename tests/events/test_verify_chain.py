"""`verify_chain` exits 0 on intact chains and 1 naming the first break."""

import io

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from events.hashing import event_hash, plain_event_hash
from events.models import Anchor, Stream
from events.raw import append  # the store's own test: exactly these events, no checkpoints
from events.store import NewEvent, read_stream
from selfplay.canonical import canonical_json
from tests.support.tamper import tamper

pytestmark = pytest.mark.django_db


def run_verify_chain(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_chain", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def two_streams():
    append("agent:ada", [NewEvent("agent.moved", {"n": i}) for i in range(4)])
    append("agent:bob", [NewEvent("agent.moved", {"n": i}) for i in range(3)])


def test_intact_store_exits_zero(two_streams):
    code, out, _ = run_verify_chain()
    assert code == 0
    assert out.strip() == "ok: 2 streams, 7 events, every chain intact (0 signed anchors hold)"


def test_tampered_data_exits_one_naming_stream_and_position(two_streams):
    tamper("UPDATE events_event SET data = %s WHERE stream_id = %s AND position = %s",
           ['{"n": 99}', "agent:bob", 2])
    code, _, err = run_verify_chain()
    assert code == 1
    assert "agent:bob at position 2: hash does not match the event's content" in err


def test_the_same_values_stored_as_other_text_still_hold(two_streams):
    # The chain hashes the canonical text of the values, not whatever text holds them: the
    # stored text is tried first (SQLite keeps it verbatim) and the values decide when it differs.
    tamper("UPDATE events_event SET data = %s, metadata = %s WHERE stream_id = %s AND position = %s",
           ['{ "n" : 1 }', '{ "actor" : "system" }', "agent:ada", 2])
    code, out, _ = run_verify_chain()
    assert code == 0, out
    assert out.strip() == "ok: 2 streams, 7 events, every chain intact (0 signed anchors hold)"


def test_a_name_that_json_escapes_is_hashed_as_the_definition_says(two_streams):
    # The store refuses such a type, so only a row changed behind its back holds one: its
    # envelope is canonical JSON (the quote escaped), never the name quoted as it is.
    *_, last = read_stream("agent:ada")
    odd_type = 'agent.said"hi'
    canonical = event_hash(prev_hash=last.prev_hash, event_id=last.id, stream_id=last.stream_id,
                           position=last.position, type=odd_type, data=last.data, metadata=last.metadata)
    quoted_as_is = plain_event_hash(last.prev_hash, last.id, last.stream_id, last.position, odd_type,
                                    canonical_json(last.data), canonical_json(last.metadata))
    assert canonical != quoted_as_is
    for digest, intact in ((canonical, True), (quoted_as_is, False)):
        stored = bytes.fromhex(digest) if connection.vendor == "sqlite" else digest  # events.compact
        tamper("UPDATE events_event SET type = %s, hash = %s WHERE stream_id = %s AND position = %s",
               [odd_type, stored, "agent:ada", last.position])
        tamper("UPDATE events_stream SET head_hash = %s WHERE id = %s", [digest, "agent:ada"])
        code, out, err = run_verify_chain()
        assert (code == 0) == intact, (digest, out, err)
        if not intact:
            assert f"agent:ada at position {last.position}: hash does not match the event's content" in err


def test_two_events_of_a_stream_swapped_in_place_are_a_break(two_streams):
    # Each keeps its content and hashes; only the order of the stream no longer matches its chain
    # (SQLite reads the log in global order, PostgreSQL stream by stream: both must see it).
    tamper("UPDATE events_event SET position = position + 100 WHERE stream_id = %s AND position IN (2, 3)",
           ["agent:ada"])
    tamper("UPDATE events_event SET position = 5 - (position - 100) WHERE stream_id = %s AND position > 100",
           ["agent:ada"])
    code, _, err = run_verify_chain()
    assert code == 1
    assert "agent:ada at position " in err


def test_broken_link_is_named(two_streams):
    tamper("UPDATE events_event SET prev_hash = %s WHERE stream_id = %s AND position = %s",
           ["0" * 64, "agent:ada", 3])
    code, _, err = run_verify_chain("--stream", "agent:ada")
    assert code == 1
    assert "agent:ada at position 3: prevHash does not link" in err


def test_one_stream_only_and_unknown_stream(two_streams):
    tamper("UPDATE events_event SET type = %s WHERE stream_id = %s AND position = %s",
           ["agent.teleported", "agent:ada", 1])
    assert run_verify_chain("--stream", "agent:bob")[0] == 0
    assert run_verify_chain("--stream", "agent:ada")[0] == 1
    from django.core.management.base import CommandError
    with pytest.raises(CommandError, match="no such stream"):
        call_command("verify_chain", "--stream", "agent:zed")
    with pytest.raises(CommandError, match="--stream needs a stream id"):  # not "ok: 0 streams"
        call_command("verify_chain", "--stream", "")


def rehash_from(stream_id: str, position: int) -> None:
    """Recompute the hashes of a stream from `position` on, and its head: what a tamperer who
    knows the hash definition does to make an edited history look intact."""
    from events.hashing import event_hash

    events = read_stream(stream_id)
    prev = events[position - 2].hash if position > 1 else ""
    for event in events[position - 1:]:
        new = event_hash(prev_hash=prev, event_id=event.id, stream_id=stream_id, position=event.position,
                         type=event.type, data=event.data, metadata=event.metadata)
        tamper("UPDATE events_event SET prev_hash = %s, hash = %s WHERE stream_id = %s AND position = %s",
               [prev, new, stream_id, event.position])
        prev = new
    tamper("UPDATE events_stream SET head_hash = %s WHERE id = %s", [prev, stream_id])


def test_a_rewritten_and_rehashed_history_fails_its_signed_anchor(two_streams):
    from events.store import anchor_heads

    anchor_heads(["agent:ada"])  # as every checkpoint does
    tamper("UPDATE events_event SET data = %s WHERE stream_id = %s AND position = %s", ['{"n": 99}', "agent:ada", 2])
    rehash_from("agent:ada", 2)
    code, _, err = run_verify_chain()
    assert code == 1
    assert "agent:ada at position 4: hash differs from the signed anchor" in err


def test_without_an_anchor_a_rehashed_history_passes_which_is_why_checkpoints_anchor(two_streams):
    tamper("UPDATE events_event SET data = %s WHERE stream_id = %s AND position = %s", ['{"n": 99}', "agent:ada", 2])
    rehash_from("agent:ada", 2)
    assert run_verify_chain()[0] == 0


def test_a_forged_anchor_signature_is_refused(two_streams):
    from events.store import anchor_heads

    anchor_heads(["agent:bob"])
    with connection.cursor() as cursor:  # anchors refuse UPDATE too: go past the trigger
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER events_anchor_refuse_update")
        else:
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE events_anchor SET signature = %s", ["0" * 64])
    code, _, err = run_verify_chain()
    assert code == 1 and "agent:bob at position 3: its anchor's signature is not valid" in err


def test_deleting_a_streams_last_events_leaves_a_hole_in_the_global_sequence(two_streams):
    if connection.vendor != "sqlite":
        pytest.skip("on PostgreSQL appends take global positions in parallel and a rolled-back one leaves a "
                    "hole, so holes are not evidence there (docs/parallel-appends.md); signed anchors catch a deleted tail")
    tamper("DELETE FROM events_event WHERE stream_id = %s AND position = %s", ["agent:ada", 4])
    tamper("UPDATE events_stream SET version = 3, head_hash = %s WHERE id = %s",
           [read_stream("agent:ada")[2].hash, "agent:ada"])
    code, _, err = run_verify_chain()
    assert code == 1 and "global positions 1..7 hold only 6 events" in err


def test_deleting_the_newest_events_of_all_is_caught_by_the_anchor(two_streams):
    from events.store import anchor_heads

    anchor_heads(["agent:bob"])  # bob holds the newest global positions, 5..7
    tamper("DELETE FROM events_event WHERE stream_id = %s AND position = %s", ["agent:bob", 3])
    tamper("UPDATE events_stream SET version = 2, head_hash = %s WHERE id = %s",
           [read_stream("agent:bob")[1].hash, "agent:bob"])
    code, _, err = run_verify_chain()
    assert code == 1 and "agent:bob at position 3: an anchored position is missing" in err


def test_a_stream_head_cannot_be_rolled_back(two_streams):
    with pytest.raises(DatabaseError, match="only moves forward"), transaction.atomic():
        Stream.objects.filter(id="agent:ada").update(version=2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Anchor.objects.create(stream_id="agent:ada", position=1, hash="x", signature="y",
                              created_at=timezone.now()).delete()


def test_a_head_moved_back_over_events_is_named(two_streams):
    from events.models import Event

    third = Event.objects.get(stream_id="agent:ada", position=3)
    tamper("UPDATE events_stream SET version = %s, head_hash = %s WHERE id = %s", [3, third.hash, "agent:ada"])
    code, _, err = run_verify_chain()
    assert code == 1
    assert "agent:ada at position 3: stream head does not match its last event" in err
