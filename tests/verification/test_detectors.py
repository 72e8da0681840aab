"""Each anomaly, provoked for real, raises `verification.flag.raised`; healthy agents go on."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from agents.services import tick_region
from events.projections import load_state
from events.store import NewEvent, append, read_stream, stream_version
from tests.agents.worlds import at, make_region
from verification.models import ClientSession, Flag
from verification.services import follow, note_token_ahead, note_token_use

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quiet(settings):
    settings.SELFPLAY_PUBLISH_EVENTS = False


@pytest.fixture
def region(db):
    # Epoch "now": the injected clock runs ahead, so no tick is ever recorded late.
    epoch = timezone.now()
    region = make_region("vale", epoch=epoch, agents={"ada": "builder", "bob": "forager",
                                                      "cy": "trader", "dee": "wanderer"})
    tick_region(region_id="vale", now=at(region, 3))
    follow()
    assert flags() == []  # a healthy world raises nothing
    return region


def flags(kind=None) -> list[tuple[str, str]]:
    rows = Flag.objects.order_by("raised_at").values_list("kind", "subject")
    return [r for r in rows if kind is None or r[0] == kind]


def raw_insert(stream_id: str, *, position: int, prev_hash: str) -> None:
    """Write an event row the way no service would (inserts are not refused by the triggers)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(global_position), 0) FROM events_event")
        next_global = cursor.fetchone()[0] + 1
        json_cast = "::jsonb" if connection.vendor == "postgresql" else ""
        cursor.execute(
            "INSERT INTO events_event (global_position, event_id, stream_id, position, type, data, metadata, "
            f"recorded_at, prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s{json_cast}, %s{json_cast}, %s, %s, %s)",
            [next_global, str(uuid.uuid4()), stream_id, position, "agent.note.forged", "{}",
             '{"actor": "system"}', connection.ops.adapt_datetimefield_value(timezone.now()), prev_hash, "f" * 64])
        # Move the head too, as a forger would, so the world can go on appending after it.
        cursor.execute("UPDATE events_stream SET version = %s, head_hash = %s WHERE id = %s",
                       [position, "f" * 64, stream_id])


def test_a_gap_in_a_stream(region):
    head = stream_version("agent:ada")
    raw_insert("agent:ada", position=head + 2, prev_hash=read_stream("agent:ada")[-1].hash)
    follow()
    assert flags() == [("gap", "agent:ada")]
    assert Flag.objects.get().details == {"streamId": "agent:ada", "expected": head + 1, "found": head + 2}


def test_a_chain_break(region):
    raw_insert("agent:bob", position=stream_version("agent:bob") + 1, prev_hash="0" * 64)
    follow()
    assert flags() == [("chain_break", "agent:bob")]


def test_two_decisions_in_one_tick(region):
    append("agent:bob", [NewEvent("agent.action.submitted", {"tick": 3, "region": "vale",
                                                             "action": {"type": "rest"}, "source": "brain"},
                                  {"actor": "agent:bob", "tick": 3})])
    follow()
    assert flags() == [("double_decision", "agent:bob")]


def test_an_impossible_move_and_the_replay_divergence_it_causes(region):
    cy = load_state("world", "vale")[0]["agents"]["cy"]
    append("world:vale", [NewEvent("agent.action.succeeded", {
        "agentId": "cy", "tick": 4, "action": {"type": "move", "dx": 1, "dy": 0}, "reason": None,
        "effects": {"x": cy["x"] + 5, "y": cy["y"], "energy": cy["energy"]}})])
    tick_region(region_id="vale", now=at(region, 4))
    follow()
    assert ("impossible_move", "agent:cy") in flags()
    assert ("replay_divergence", "world:vale") in flags()


def test_an_override_flood(region):
    for tick in range(4, 10):
        append("agent:dee", [NewEvent("player.override.submitted", {
            "agentId": "dee", "region": "vale", "action": {"type": "rest"}, "reason": "again",
            "appliesAtTick": tick}, {"actor": "player:mallory"})])
    follow()
    assert flags() == [("override_flood", "agent:dee")]
    assert Flag.objects.get().details["lastActor"] == "player:mallory"


def test_missed_ticks_after_downtime(region):
    tick_region(region_id="vale", now=at(region, 20), max_catchup=2)
    follow()
    missed = Flag.objects.filter(kind="missed_ticks")
    assert [(f.subject, f.details.get("fromTick"), f.details.get("toTick")) for f in missed][0] == ("world:vale", 4, 18)


def test_one_token_from_two_sessions_at_once():
    now = timezone.now()
    note_token_use(session_id="tab-one", checkpoint_id="c1", token_issued_at="t", stream_id="world:vale", now=now)
    note_token_use(session_id="tab-one", checkpoint_id="c1", token_issued_at="t", stream_id="world:vale", now=now)
    assert flags() == []
    note_token_use(session_id="tab-two", checkpoint_id="c1", token_issued_at="t", stream_id="world:vale",
                   now=now + timedelta(seconds=5))
    assert flags() == [("token_shared", "session:tab-two")]
    assert ClientSession.objects.get(id="tab-two").suspect is True
    assert ClientSession.objects.get(id="tab-one").suspect is False


def test_a_token_ahead_of_the_head():
    note_token_ahead(session_id="tab-three", stream_id="world:vale", position=99, head=12)
    assert flags() == [("token_ahead_of_head", "session:tab-three")]
    assert ClientSession.objects.get(id="tab-three").suspect is True


def test_flags_are_events_and_a_flagged_agent_is_suspect_while_others_tick_on(region):
    raw_insert("agent:ada", position=stream_version("agent:ada") + 1, prev_hash="0" * 64)
    follow()
    raised = [e for e in read_stream("verification:flags") if e.type == "verification.flag.raised"]
    assert [(e.data["kind"], e.data["subject"]) for e in raised] == [("chain_break", "agent:ada")]
    for tick in range(4, 16):
        report = tick_region(region_id="vale", now=at(region, tick))
        assert report.ticks == [tick]
    follow()
    for agent in ("ada", "bob", "cy", "dee"):
        decisions = [e for e in read_stream(f"agent:{agent}", limit=5000) if e.type == "agent.action.submitted"]
        assert [e.data["tick"] for e in decisions] == list(range(1, 16))
    playerhood = load_state("playerhood", "vale")[0]["agents"]
    assert playerhood["ada"]["status"] == "suspect"
    assert {playerhood[a]["status"] for a in ("bob", "cy", "dee")} == {"verified"}
    assert flags() == [("chain_break", "agent:ada")]


def test_the_follower_resumes_and_never_reports_twice(region):
    raw_insert("agent:ada", position=stream_version("agent:ada") + 1, prev_hash="0" * 64)
    first = follow()
    second = follow()
    assert first.flags == 1 and second.flags == 0
    assert second.position >= first.position
