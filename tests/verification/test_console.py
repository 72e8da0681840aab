"""The operator console: staff only; every action lands in the log with the operator and a reason."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from agents.models import Agent, PendingCommand
from events.store import read_stream
from tests.agents.worlds import at, make_region
from verification.models import ClientSession, Flag
from verification.services import raise_flag

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quiet(settings):
    settings.SELFPLAY_PUBLISH_EVENTS = False
    settings.SELFPLAY_REDIS_PREFIX = "selfplay-test-console"


@pytest.fixture
def world(db):
    from agents.services import tick_region

    region = make_region("vale", epoch=timezone.now(), agents={"ada": "builder", "bob": "forager"})
    tick_region(region_id="vale", now=at(region, 2))
    return region


@pytest.fixture
def operator(client):
    user = User.objects.create_user("olga", password="pw-olga-123", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def act(client, url, action, ids, **form):
    return client.post(url, {"action": action, "_selected_action": ids, "apply": "1", **form}, follow=True)


def test_a_player_cannot_open_the_console(client, world):
    player = User.objects.create_user("alice", password="pw-alice-123")
    client.force_login(player)
    for url in ("/admin/", "/admin/verification/flag/", "/admin/events/event/", "/admin/agents/agent/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url


def test_dashboard_shows_ticks_lag_flags_and_playerhood(operator, world):
    raise_flag(kind="gap", subject="agent:ada", details={})
    page = operator.get("/admin/").content.decode()
    assert 'id="selfplay-dashboard"' in page
    assert "<td>vale</td><td>2</td>" in page
    assert "?status__exact=open\">1</a>" in page
    assert 'aria-label="playerhood distribution"' in page


@pytest.mark.parametrize("action,kind,event_type,status", [
    ("pause", "pause", "agent.paused", "paused"),
    ("override", "override", "player.override.submitted", "active"),
])
def test_agent_actions_append_operator_events_with_the_reason(operator, world, action, kind, event_type, status):
    form = {"reason": "checking the console"}
    if action == "override":
        form["action_json"] = '{"type": "say", "text": "hello from ops"}'
    response = act(operator, "/admin/agents/agent/", action, ["ada"], **form)
    assert response.status_code == 200
    event = read_stream("agent:ada", limit=5000)[-1]
    assert event.type == event_type
    assert event.metadata["actor"] == "operator:olga"
    assert event.data["reason"] == "checking the console"
    assert Agent.objects.get(id="ada").status == status
    if action == "override":
        assert PendingCommand.objects.get(agent_id="ada").actor == "operator:olga"


def test_an_agent_action_without_a_reason_asks_again_and_writes_nothing(operator, world):
    before = len(read_stream("agent:ada", limit=5000))
    response = act(operator, "/admin/agents/agent/", "pause", ["ada"], reason="")
    assert "This field is required" in response.content.decode()
    assert len(read_stream("agent:ada", limit=5000)) == before


def test_resume_of_an_active_agent_reports_the_refusal(operator, world):
    response = act(operator, "/admin/agents/agent/", "resume", ["bob"], reason="why not")
    assert "bob is already active" in response.content.decode()


@pytest.mark.parametrize("action,status,event_type", [
    ("acknowledge", "acknowledged", "verification.flag.acknowledged"),
    ("resolve", "resolved", "verification.flag.resolved"),
])
def test_flag_actions_record_the_note(operator, world, action, status, event_type):
    flag = raise_flag(kind="gap", subject="agent:ada", details={})
    act(operator, "/admin/verification/flag/", action, [str(flag.id)], reason="looked at it")
    flag.refresh_from_db()
    assert (flag.status, flag.note) == (status, "looked at it")
    event = read_stream("verification:flags")[-1]
    assert (event.type, event.metadata["actor"], event.data["note"]) == (event_type, "operator:olga", "looked at it")


def test_marking_a_session_suspect_raises_a_flag(operator):
    now = timezone.now()
    ClientSession.objects.create(id="tab-9", first_seen=now - timedelta(minutes=1), last_seen=now)
    act(operator, "/admin/verification/clientsession/", "mark_suspect", ["tab-9"], reason="odd resyncs")
    assert ClientSession.objects.get(id="tab-9").suspect is True
    flag = Flag.objects.get()
    assert (flag.kind, flag.subject, flag.details["reason"]) == ("operator_marked_suspect", "session:tab-9", "odd resyncs")


def test_audit_log_filters_by_actor_tick_and_stream(operator, world):
    act(operator, "/admin/agents/agent/", "pause", ["ada"], reason="audit me")
    page = operator.get("/admin/events/event/?actor_kind=operator").content.decode()
    assert "player.override.submitted" not in page and "agent.paused" in page
    page = operator.get("/admin/events/event/?metadata__tick=2&stream__id__exact=agent:bob").content.decode()
    assert "agent:bob" in page and "agent:ada" not in page


def test_checkpoint_verify_action_names_a_corrupt_one(operator, world):
    from checkpoints.models import Checkpoint

    checkpoints = list(Checkpoint.objects.order_by("stream_id"))
    assert checkpoints, "the ticks made checkpoints"
    bad = checkpoints[0]
    Checkpoint.objects.filter(pk=bad.pk).update(state={"tampered": True})
    response = operator.post("/admin/checkpoints/checkpoint/", {
        "action": "verify", "_selected_action": [str(c.pk) for c in checkpoints]}, follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert f"{len(checkpoints) - 1} of {len(checkpoints)} checkpoint(s) intact." in shown
    assert any(m.startswith(f"{bad.stream_id}@{bad.position}:") and "checksum" in m for m in shown)


def test_the_world_page_shows_continuity(client, world):
    raise_flag(kind="impossible_move", subject="agent:ada", details={})
    raise_flag(kind="gap", subject="agent:elsewhere", details={})  # not this region's
    page = client.get("/world/vale/").content.decode()
    assert 'id="continuity"' in page
    assert "<dt>Open flags</dt><dd>1 <span class=\"muted\">(impossible_move)</span></dd>" in page
    assert "over 2 ticks" in page
