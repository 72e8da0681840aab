"""Which projection holds which stream, and reads of any stream's state."""

import pytest

from agents import agent_stream as agent_state
from checkpoints import reducers
from checkpoints.streams import (
    agent_of,
    initial_state,
    projection_of,
    replay_stream,
    snapshots,
    stream_state,
)
from events.models import Projection
from events.projections import load_state
from events.store import ANY, InvalidStreamId, NewEvent, read_stream, record
from selfplay.canonical import checksum
from tests.support.log import record_to

from .agent_events import DECISION, PLAN
from .helpers import noted

pytestmark = pytest.mark.django_db

# --- which projection holds a stream -------------------------------------------------------------


@pytest.mark.parametrize(("stream_id", "projection", "agent"), [
    ("world:vale", ("world", "vale"), None),
    ("agent:ada", ("agent_stream", "ada"), "ada"),
    ("system:checkpoints", ("stream", "system:checkpoints"), None),
    ("verification:ada", ("stream", "verification:ada"), None),
])
def test_every_kind_of_stream_has_a_projection(stream_id, projection, agent):
    assert projection_of(stream_id) == projection
    assert agent_of(stream_id) == agent


@pytest.mark.parametrize("stream_id", ["ada", "robot:ada", "agent:Ada", "agent:", None])
def test_a_malformed_stream_id_is_refused(stream_id):
    with pytest.raises(InvalidStreamId):
        projection_of(stream_id)


def test_the_agent_projection_folds_only_its_own_stream():
    record([("agent:ada", [NewEvent("agent.action.submitted", DECISION["data"])], ANY),
            ("agent:bob", [NewEvent("agent.plan.updated", PLAN["data"] | {"agentId": "bob"})], ANY),
            ("world:vale", [NewEvent("agent.paused", {"agentId": "ada", "region": "vale", "tick": 3})], ANY)])
    ada, _ = load_state("agent_stream", "ada")
    assert (ada["events"], ada["decisions"], ada["status"], ada["plan"]) == (1, 1, "active", None)
    assert load_state("agent_stream", "bob")[0]["plan"] == {"goal": "wood"}
    assert not Projection.objects.filter(name="agent_stream", key="vale").exists()
    assert not Projection.objects.filter(name="stream", key="agent:ada").exists()


def test_stream_state_of_an_unknown_stream_is_its_initial_state():
    assert stream_state("agent:nobody") == (agent_state.initial_state("nobody"), 0)
    assert stream_state("system:nothing") == (reducers.initial_state("system:nothing"), 0)


def test_stream_state_reads_the_live_projection_at_the_stream_head():
    record([("system:clock", noted(3), ANY)])
    state, position = stream_state("system:clock")
    assert position == 3
    assert state == {"streamId": "system:clock", "events": 3, "lastType": "test.noted", "types": {"test.noted": 3}}
    assert checksum(state) == Projection.objects.get(name="stream", key="system:clock").checksum


def test_stream_state_folds_events_appended_without_projecting_them():
    record([("agent:ada", [NewEvent("agent.action.submitted", DECISION["data"])], ANY)])
    record_to("agent:ada", [NewEvent("agent.plan.updated", PLAN["data"]), NewEvent("agent.paused", {})])
    state, position = stream_state("agent:ada")
    assert position == 3
    full = replay_stream("agent:ada", initial_state("agent:ada"), read_stream("agent:ada"))
    assert state == full
    assert (state["events"], state["plan"], state["status"]) == (3, {"goal": "wood"}, "paused")


def test_snapshots_read_many_streams_at_once_with_their_global_positions():
    recorded = record([("agent:ada", noted(2), ANY), ("agent:bob", noted(1), ANY), ("system:clock", noted(1), ANY)])
    found = snapshots(["agent:ada", "agent:bob", "system:clock", "agent:nobody"])
    assert sorted(found) == ["agent:ada", "agent:bob", "system:clock"]
    assert (found["agent:ada"].position, found["agent:ada"].global_position) == (2, recorded[1].global_position)
    assert found["agent:bob"].state["events"] == 1
    assert found["system:clock"].global_position == recorded[3].global_position


def test_replay_refuses_events_of_another_stream():
    record([("agent:bob", noted(1), ANY)])
    with pytest.raises(ValueError, match="agent:bob"):
        replay_stream("agent:ada", initial_state("agent:ada"), read_stream("agent:bob"))


def test_replay_takes_wire_events_as_sync_serves_them():
    record([("agent:ada", [NewEvent("agent.action.submitted", DECISION["data"]),
                           NewEvent("agent.plan.updated", PLAN["data"])], ANY)])
    wire = [e.to_wire() for e in read_stream("agent:ada")]
    assert replay_stream("agent:ada", initial_state("agent:ada"), wire) == stream_state("agent:ada")[0]
