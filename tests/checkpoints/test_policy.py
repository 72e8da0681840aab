"""The checkpoint policy (DESIGN §7): every 500 events or 300 s per stream, retention, announcements."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from checkpoints.exceptions import NoCheckpoint
from checkpoints.models import Checkpoint
from checkpoints.selectors import checkpoint_state, due_streams
from checkpoints.services import CHECKPOINT_STREAM, after_record, create_checkpoint
from checkpoints.streams import stream_state
from events.models import Projection
from events.projections import load_state
from events.store import ANY, NewEvent, read_stream, record, stream_version
from selfplay.canonical import checksum
from tests.support.log import record_to

from .conftest import EPOCH
from .helpers import noted, positions, record_at

pytestmark = pytest.mark.django_db


def at(seconds: float):
    return EPOCH + timedelta(seconds=seconds)


def test_a_stream_is_checkpointed_at_its_first_recorded_event():
    record([("system:clock", noted(3), ANY)])
    [checkpoint] = Checkpoint.objects.all().exclude(stream_id=CHECKPOINT_STREAM)
    assert (checkpoint.stream_id, checkpoint.position, checkpoint.storage) == ("system:clock", 3, "database")
    assert checkpoint.global_position == read_stream("system:clock")[-1].global_position
    assert checkpoint.checksum == checksum(stream_state("system:clock")[0])
    assert checkpoint_state(checkpoint)["events"] == 3


def test_a_checkpoint_every_500_events():
    record_at(at(0), [("system:clock", noted(1))])
    record_at(at(1), [("system:clock", noted(499))])   # head 500: 499 since the checkpoint
    assert positions("system:clock") == [1]
    record_at(at(2), [("system:clock", noted(1))])     # head 501: 500 since
    assert positions("system:clock") == [1, 501]
    record_at(at(3), [("system:clock", noted(600))])   # one checkpoint per call, at the head
    assert positions("system:clock") == [1, 501, 1101]


def test_a_checkpoint_every_300_seconds_when_the_stream_moved():
    record_at(at(0), [("system:clock", noted(1))])
    record_at(at(299.999), [("system:clock", noted(1))])
    assert positions("system:clock") == [1]
    record_at(at(300), [("system:clock", noted(1))])
    assert positions("system:clock") == [1, 3]
    record_at(at(900), [("agent:ada", noted(1))])      # an untouched stream waits for its next event
    assert positions("system:clock") == [1, 3]


def test_the_thresholds_come_from_settings(settings):
    settings.SELFPLAY_CHECKPOINT_EVERY_EVENTS = 3
    settings.SELFPLAY_CHECKPOINT_EVERY_SECONDS = 10
    record_at(at(0), [("system:clock", noted(1))])
    record_at(at(1), [("system:clock", noted(3))])
    record_at(at(12), [("system:clock", noted(1))])
    assert positions("system:clock") == [1, 4, 5]


def test_retention_keeps_the_newest_k_per_stream(settings):
    settings.SELFPLAY_CHECKPOINT_RETENTION = 3
    for minute in range(6):
        record_at(at(300 * minute), [("system:clock", noted(2)), ("agent:ada", noted(1))])
    assert positions("system:clock") == [8, 10, 12]
    assert positions("agent:ada") == [4, 5, 6]
    assert settings.SELFPLAY_CHECKPOINT_RETENTION == 3


def test_retention_defaults_to_five(settings):
    del settings.SELFPLAY_CHECKPOINT_RETENTION
    for minute in range(7):
        record_at(at(300 * minute), [("agent:ada", noted(1))])
    assert positions("agent:ada") == [3, 4, 5, 6, 7]


def test_each_checkpoint_is_announced_in_the_checkpoint_stream():
    recorded = record_at(at(0), [
        ("agent:ada", [NewEvent("agent.action.submitted", {"tick": 1}, {"actor": "agent:ada", "correlationId": "c-1"})]),
        ("world:vale", [NewEvent("world.created", {"region": "vale", "seed": 1, "width": 1, "height": 1,
                                                   "rulesVersion": 1, "tiles": {"terrain": ".", "amounts": [0]}})]),
    ])
    by_stream = {c.stream_id: c for c in Checkpoint.objects.all()}
    announcements = read_stream(CHECKPOINT_STREAM)
    assert [(e.type, e.data, e.metadata) for e in announcements[:2]] == [
        ("checkpoint.created", {"checkpointId": str(by_stream["agent:ada"].pk), "streamId": "agent:ada",
                                "position": 1, "globalPosition": recorded[0].global_position,
                                "checksum": by_stream["agent:ada"].checksum},
         {"actor": "system", "causationId": recorded[0].id, "correlationId": "c-1"}),
        ("checkpoint.created", {"checkpointId": str(by_stream["world:vale"].pk), "streamId": "world:vale",
                                "position": 1, "globalPosition": recorded[1].global_position,
                                "checksum": by_stream["world:vale"].checksum},
         {"actor": "system", "causationId": recorded[1].id}),
    ]
    # The checkpoint log is a stream like any other: its first events make it due too, once.
    assert [(e.position, e.data["streamId"], e.data["position"]) for e in announcements] == [
        (1, "agent:ada", 1), (2, "world:vale", 1), (3, CHECKPOINT_STREAM, 2)]
    assert by_stream[CHECKPOINT_STREAM].position == 2
    # The announcements are folded like recorded events, and after_record did not run for them.
    state, position = stream_state(CHECKPOINT_STREAM)
    assert position == 3
    assert state == {"streamId": CHECKPOINT_STREAM, "events": 3, "lastType": "checkpoint.created",
                     "types": {"checkpoint.created": 3}}
    assert Projection.objects.get(name="stream", key=CHECKPOINT_STREAM).checksum == checksum(state)


def test_no_checkpoint_is_made_twice_for_the_same_events():
    recorded = record_at(at(0), [("system:clock", noted(2))])
    after_record(recorded, now=at(3600))  # a retried hook: the stream has not moved since
    assert positions("system:clock") == [2]


def test_the_due_check_is_one_query_however_many_streams_are_touched():
    streams = [(f"agent:a{i}", noted(1)) for i in range(300)]
    record_at(at(0), streams)
    assert Checkpoint.objects.filter(stream_id__startswith="agent:").count() == 300
    recorded = [event for stream, _ in streams for event in record_to(stream, noted(1, start=1))]
    with CaptureQueriesContext(connection) as queries:
        assert after_record(recorded, now=at(1)) == []
    assert len(queries) == 1


def test_due_streams_names_exactly_the_due_ones():
    record_at(at(0), [("agent:ada", noted(1)), ("agent:bob", noted(1))])
    assert due_streams({"agent:ada": 501, "agent:bob": 2, "agent:cy": 1}, now=at(10)) == ["agent:ada", "agent:cy"]
    assert due_streams({"agent:ada": 2, "agent:bob": 1}, now=at(300)) == ["agent:ada"]
    assert due_streams({}, now=at(0)) == []


def test_due_streams_reads_the_newest_of_many_kept_checkpoints(settings):
    settings.SELFPLAY_CHECKPOINT_RETENTION = 10
    for second, count in ((0, 1), (10, 500), (20, 500)):  # checkpoints at 1, 501 and 1001
        record_at(at(second), [("system:clock", noted(count))])
    assert positions("system:clock") == [1, 501, 1001]
    assert due_streams({"system:clock": 1500}, now=at(319)) == []
    assert due_streams({"system:clock": 1501}, now=at(30)) == ["system:clock"]
    assert due_streams({"system:clock": 1002}, now=at(320)) == ["system:clock"]
    assert due_streams({"system:clock": 1001}, now=at(900)) == []  # it has not moved since


def test_on_demand_checkpoints_ignore_the_policy():
    record_at(at(0), [("world:vale", noted(2))])
    checkpoint = create_checkpoint("world:vale", now=at(1), actor="operator:olga")
    assert (checkpoint.position, checkpoint.created_at) == (2, at(1))
    assert positions("world:vale") == [2, 2]
    assert checkpoint_state(checkpoint) == load_state("world", "vale")[0]
    assert read_stream(CHECKPOINT_STREAM)[-1].metadata == {"actor": "operator:olga"}


def test_an_empty_stream_cannot_be_checkpointed():
    with pytest.raises(NoCheckpoint):
        create_checkpoint("agent:nobody")
    assert not Checkpoint.objects.exists()
    assert stream_version(CHECKPOINT_STREAM) == 0


def test_the_management_command_checkpoints_a_stream(capsys):
    from django.core.management import CommandError, call_command

    record_at(at(0), [("agent:ada", noted(4))])
    call_command("create_checkpoint", "--stream", "agent:ada")
    newest = Checkpoint.objects.filter(stream_id="agent:ada").order_by("-created_at").first()
    assert capsys.readouterr().out.startswith(f"{newest.pk} agent:ada position=4 ")
    with pytest.raises(CommandError, match="invalid stream id"):
        call_command("create_checkpoint", "--stream", "robot:ada")
    with pytest.raises(CommandError, match="no events"):
        call_command("create_checkpoint", "--stream", "agent:nobody")
