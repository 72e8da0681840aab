"""Each anomaly, provoked for real, raises `verification.flag.raised`; healthy agents go on."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from agents.services import tick_region
from checkpoints.signals import Client
from events.projections import load_state
from events.store import NewEvent, read_stream, stream_version
from tests.agents.worlds import at, make_region
from tests.support.log import record_to
from tests.support.tamper import forge_event
from verification.clients import session_ref
from verification.models import ClientSession, Flag
from verification.services import follow, note_token_ahead, note_token_use

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quiet(settings):
    settings.SELFPLAY_PUBLISH_EVENTS = False


@pytest.fixture
def region(db):
    # Every tick runs exactly when it is due (the injected clock is its due moment): on time.
    region = make_region("vale", epoch=timezone.now(), agents={"ada": "builder", "bob": "forager",
                                                               "cy": "trader", "dee": "wanderer"})
    for tick in (1, 2, 3):
        tick_region(region_id="vale", now=at(region, tick))
    follow()
    assert flags() == []  # a healthy world raises nothing
    return region


def flags(kind=None) -> list[tuple[str, str]]:
    rows = Flag.objects.order_by("raised_at").values_list("kind", "subject")
    return [r for r in rows if kind is None or r[0] == kind]


def test_a_gap_in_a_stream(region):
    head = stream_version("agent:ada")
    forge_event("agent:ada", position=head + 2, prev_hash=read_stream("agent:ada")[-1].hash)
    follow()
    assert flags() == [("gap", "agent:ada")]
    assert Flag.objects.get().details == {"streamId": "agent:ada", "expected": head + 1, "found": head + 2}


def test_a_chain_break(region):
    forge_event("agent:bob", position=stream_version("agent:bob") + 1, prev_hash="0" * 64)
    follow()
    assert flags() == [("chain_break", "agent:bob")]


def test_two_decisions_in_one_tick(region):
    record_to("agent:bob", [NewEvent("agent.action.submitted", {"tick": 3, "region": "vale",
                                                             "action": {"type": "rest"}, "source": "brain"},
                                  {"actor": "agent:bob", "tick": 3})])
    follow()
    assert flags() == [("double_decision", "agent:bob")]


def test_an_impossible_move_and_the_replay_divergence_it_causes(region):
    cy = load_state("world", "vale")[0]["agents"]["cy"]
    record_to("world:vale", [NewEvent("agent.action.succeeded", {
        "agentId": "cy", "tick": 4, "action": {"type": "move", "dx": 1, "dy": 0}, "reason": None,
        "effects": {"x": cy["x"] + 5, "y": cy["y"], "energy": cy["energy"]}})])
    tick_region(region_id="vale", now=at(region, 4))
    follow()
    assert ("impossible_move", "agent:cy") in flags()
    assert ("replay_divergence", "world:vale") in flags()


def test_an_override_flood(region):
    for tick in range(4, 10):
        record_to("agent:dee", [NewEvent("player.override.submitted", {
            "agentId": "dee", "region": "vale", "action": {"type": "rest"}, "reason": "again",
            "appliesAtTick": tick}, {"actor": "player:mallory"})])
    follow()
    assert flags() == [("override_flood", "agent:dee")]
    assert Flag.objects.get().details["lastActor"] == "player:mallory"


def test_missed_ticks_after_downtime(region):
    tick_region(region_id="vale", now=at(region, 20), max_catchup=2)
    follow()
    missed = Flag.objects.filter(kind="missed_ticks").order_by("raised_at", "details")
    # Ticks 4..18 were skipped; tick 19, simulated with 20 at epoch + 20 intervals, ran a whole
    # interval late: caught up.
    assert sorted((f.subject, json.dumps(f.details, sort_keys=True)) for f in missed) == sorted([
        ("world:vale", json.dumps({"fromTick": 4, "toTick": 18, "skipped": True}, sort_keys=True)),
        ("world:vale", json.dumps({"tick": 19, "latenessMs": 2000, "caughtUp": True}, sort_keys=True)),
    ])


def test_one_token_from_two_sessions_at_once():
    now = timezone.now()
    use = dict(checkpoint_id="c1", token_issued_at="t", stream_id="world:vale")
    note_token_use(client=Client("tab-one", "10.0.0.1"), now=now, **use)
    note_token_use(client=Client("tab-one", "10.0.0.1"), now=now, **use)
    assert flags() == []
    note_token_use(client=Client("tab-two", "10.0.0.2"), now=now + timedelta(seconds=5), **use)
    assert flags() == [("token_shared", f"session:{session_ref('tab-two')}")]
    assert ClientSession.objects.get(id=session_ref("tab-two")).suspect is True
    assert not ClientSession.objects.filter(id=session_ref("tab-one")).exists()


def test_a_token_ahead_of_the_head():
    note_token_ahead(client=Client("tab-three", "10.0.0.3"), stream_id="world:vale", position=99, head=12)
    assert flags() == [("token_ahead_of_head", f"session:{session_ref('tab-three')}")]
    assert ClientSession.objects.get(id=session_ref("tab-three")).suspect is True



def test_flags_are_events_and_a_flagged_agent_is_suspect_while_others_tick_on(region):
    forge_event("agent:ada", position=stream_version("agent:ada") + 1, prev_hash="0" * 64)
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
    forge_event("agent:ada", position=stream_version("agent:ada") + 1, prev_hash="0" * 64)
    first = follow()
    second = follow()
    assert first.flags == 1 and second.flags == 0
    assert second.position >= first.position
