"""The operator console: staff only; every action lands in the log with the operator and a reason."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from agents.models import Agent, PendingCommand
from events.models import Event
from events.store import read_stream
from tests.agents.worlds import at, make_region
from verification.models import ClientSession, Flag
from verification.services import raise_flag

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quiet(settings):
    settings.SELFPLAY_PUBLISH_EVENTS = False


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
    response = operator.get("/admin/")
    assert "admin/selfplay_dashboard.html" in [t.name for t in response.templates]
    [region] = response.context["regions"]
    assert (region["region"], region["lastTick"], region["agents"]) == ("vale", 2, 2)
    assert response.context["flags"]["open"] == 1
    assert [(bar["status"], bar["count"]) for bar in response.context["bars"]] == [
        ("verified", 0), ("provisional", 0), ("suspect", 0)]


@pytest.mark.parametrize("action,kind,event_type,status", [
    ("pause", "pause", "agent.paused", "paused"),
    ("override", "override", "player.override.submitted", "active"),
])
def test_agent_actions_append_operator_events_with_the_reason(operator, world, action, kind, event_type, status):
    form = {"reason": "checking the console"}
    if action == "override":
        form.update(action_type="say", text="hello from ops")
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


def test_a_bad_override_value_comes_back_next_to_its_field_with_the_input_kept(operator, world):
    before = len(read_stream("agent:ada", limit=5000))
    response = act(operator, "/admin/agents/agent/", "override", ["ada"], reason="walk",
                   action_type="move", dx="1", dy="0", text="ignored: move takes no text")
    assert len(read_stream("agent:ada", limit=5000)) == before + 1  # valid: recorded
    response = act(operator, "/admin/agents/agent/", "override", ["bob"], reason="walk",
                   action_type="move", dx="1")
    form = response.context["form"]
    assert form.errors == {"dy": ["required"]}
    assert (form["dx"].value(), form["reason"].value(), form["action_type"].value()) == ("1", "walk", "move")
    assert not PendingCommand.objects.filter(agent_id="bob").exists()
    response = act(operator, "/admin/agents/agent/", "override", ["bob"], reason="stand still",
                   action_type="move", dx="0", dy="0")
    assert response.context["form"].errors == {"action_type": ["dx and dy cannot both be 0"]}


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


def test_a_flag_is_acknowledged_once_and_a_resolved_one_is_left_alone(operator, world):
    seen, done = (raise_flag(kind="gap", subject="agent:ada", details={}) for _ in range(2))
    act(operator, "/admin/verification/flag/", "acknowledge", [str(seen.id)], reason="first look")
    act(operator, "/admin/verification/flag/", "resolve", [str(done.id)], reason="fixed")
    before = len(read_stream("verification:flags"))
    act(operator, "/admin/verification/flag/", "acknowledge", [str(seen.id), str(done.id)], reason="again")
    assert len(read_stream("verification:flags")) == before
    seen.refresh_from_db()
    done.refresh_from_db()
    assert (seen.status, seen.note, done.status) == ("acknowledged", "first look", "resolved")


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
    page = operator.get("/admin/events/event/?tick=2&stream__id__exact=agent:bob").content.decode()
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
    continuity = client.get("/world/vale/").context["continuity"]
    assert (continuity["openFlags"], continuity["flagKinds"]) == (1, ["impossible_move"])
    assert continuity["ticksMeasured"] == 2


def test_pending_commands_cannot_be_dropped_in_the_admin(operator, world):
    row = PendingCommand.objects.create(agent_id="ada", applies_at_tick=9, source="override",
                                        action={"type": "rest"}, event_id=str(uuid.uuid4()), actor="player:alice")
    assert operator.get(f"/admin/agents/pendingcommand/{row.pk}/delete/").status_code == 403
    assert operator.post(f"/admin/agents/pendingcommand/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    listing = operator.get("/admin/agents/pendingcommand/").content.decode()
    assert 'value="delete_selected"' not in listing
    assert PendingCommand.objects.filter(pk=row.pk).exists()


def test_an_owner_or_brain_change_in_the_admin_is_recorded_and_projected(operator, world):
    from events.projections import load_state

    alice = User.objects.create_user("alice", password="pw-alice-123")
    response = operator.post("/admin/agents/agent/ada/change/", {"brain": "trader", "owner": alice.pk}, follow=True)
    assert response.status_code == 200
    changes = [(e.type, e.data["agentId"], e.metadata["actor"]) for e in read_stream("world:vale")
               if e.type in ("agent.owner.changed", "agent.brain.changed")]
    assert changes == [("agent.owner.changed", "ada", "operator:olga"), ("agent.brain.changed", "ada", "operator:olga")]
    agents = load_state("agents", "vale")[0]["agents"]
    assert (agents["ada"]["owner"], agents["ada"]["brain"]) == ("alice", "trader")
    assert Agent.objects.get(id="ada").brain == "trader"


def test_an_unknown_brain_is_refused_by_the_admin_form(operator, world):
    before = len(read_stream("world:vale"))
    response = operator.post("/admin/agents/agent/ada/change/", {"brain": "telepath", "owner": ""})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert Agent.objects.get(id="ada").brain == "builder"
    assert len(read_stream("world:vale")) == before


def test_flags_are_counted_apart_by_status_everywhere(operator, world):
    from selfplay.web.overview import world_status

    gap, jump, odd = (raise_flag(kind=kind, subject="agent:ada", details={})
                      for kind in ("gap", "impossible_move", "override_flood"))
    act(operator, "/admin/verification/flag/", "acknowledge", [str(jump.id)], reason="seen")
    act(operator, "/admin/verification/flag/", "resolve", [str(odd.id)], reason="fixed")
    assert world_status(now=timezone.now())["flags"] == {
        "open": 1, "acknowledged": 1, "resolved": 1, "openByKind": {"gap": 1}}
    dashboard = operator.get("/admin/")
    assert dashboard.context["flags"]["open"] == 1
    page = operator.get("/world/vale/")
    assert (page.context["continuity"]["openFlags"], page.context["continuity"]["acknowledgedFlags"],
            page.context["continuity"]["flagKinds"]) == (1, 1, ["gap"])
    assert gap.status == "open"


def test_the_audit_log_is_newest_first_and_filters_by_tick(operator, world):
    response = operator.get("/admin/events/event/?tick=2&stream__id__exact=world:vale")
    shown = list(response.context["cl"].result_list)
    assert shown and {e.metadata["tick"] for e in shown} == {2}
    assert [e.global_position for e in shown] == sorted((e.global_position for e in shown), reverse=True)
    newest = operator.get("/admin/events/event/").context["cl"].result_list[0]
    assert newest.global_position == Event.objects.order_by("-global_position").first().global_position
    bad = operator.get("/admin/events/event/?tick=soon")  # Django admin's answer to a bad filter value
    assert (bad.status_code, bad["Location"]) == (302, "/admin/events/event/?e=1")


def test_a_flag_links_to_its_stream_at_its_tick_and_shows_its_details(operator, world):
    raise_flag(kind="impossible_move", subject="agent:ada", details={"tick": 2, "from": [1, 1], "to": [3, 3]})
    listing = operator.get("/admin/verification/flag/")
    [flag] = listing.context["cl"].result_list
    admin_view = listing.context["cl"].model_admin
    assert "?stream__id__exact=agent%3Aada&amp;tick=2" in admin_view.subject_link(flag)
    assert admin_view.summary(flag) == "from [1, 1], tick 2, to [3, 3]"


def test_the_dashboard_data_is_for_operators_and_holds_the_last_hours_trends(operator, world, client):
    from selfplay.web.overview import trends

    data = operator.get("/admin/selfplay/overview.json").json()
    assert set(data) == {"status", "trends"}
    assert data["status"]["broker"] == {"reachable": True}
    assert len(data["trends"]["regions"]["vale"]["ticksPerMinute"]) == len(data["trends"]["openFlags"]) == 60
    # The fixture's two ticks were recorded at epoch + 2 intervals (its injected clock): in the
    # last minute of the hour before epoch + 3 intervals, one event per agent and a completion apart.
    vale = trends(now=at(world, 3))["regions"]["vale"]
    assert (sum(vale["ticksPerMinute"]), vale["ticksPerMinute"][-1]) == (2, 2)
    assert vale["latenessP99Ms"][-1] == 2000  # tick 1 ran with tick 2, an interval late
    # Events per tick: how much the log grew from tick 1's completion to tick 2's, whatever streams.
    first, second = Event.objects.filter(type="world.tick.completed").order_by("global_position")
    grown = Event.objects.filter(global_position__gt=first.global_position,
                                 global_position__lte=second.global_position).count()
    assert vale["eventsPerTick"][-1] == grown
    player = User.objects.create_user("pat", password="pw-pat-12345")
    client.force_login(player)
    assert client.get("/admin/selfplay/overview.json").status_code == 302  # to the admin login


def test_status_warns_and_fails_when_the_broker_does_not_answer(world, settings):
    from tests.agents.worlds import run_command

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    code, _, err = run_command("selfplay_status")
    assert code == 1
    assert "WARNING: The broker (Redis) does not answer: nothing ticks until it is back." in err


def test_regions_are_read_only_in_the_admin(operator, world):
    from agents.models import Region

    page = operator.get("/admin/agents/region/vale/change/")
    assert page.status_code == 200 and 'name="tick_seconds"' not in page.content.decode()  # shown, not editable
    assert operator.post("/admin/agents/region/vale/change/", {"tick_seconds": 10}).status_code == 403
    assert operator.post("/admin/agents/region/vale/delete/", {"post": "yes"}).status_code == 403
    assert Region.objects.get(id="vale").tick_seconds == 2


def test_an_owner_cannot_be_deleted_or_renamed_in_the_admin(operator, world):
    carol = User.objects.create_user("carol", password="pw-carol-123")
    operator.post("/admin/agents/agent/ada/change/", {"brain": "builder", "owner": carol.pk})
    page = operator.post(f"/admin/auth/user/{carol.pk}/delete/", {"post": "yes"})
    assert "Cannot delete user" in page.content.decode()
    assert Agent.objects.get(id="ada").owner == carol
    change = operator.get(f"/admin/auth/user/{carol.pk}/change/").content.decode()
    assert 'name="username"' not in change  # the log names her player:carol
    assert User.objects.get(pk=carol.pk).username == "carol"


def test_notifications_cannot_be_deleted_in_the_admin(operator, world):
    from agents.models import Notification

    note = Notification.objects.create(agent_id="ada", message="hello", request_id=str(uuid.uuid4()))
    assert operator.post(f"/admin/agents/notification/{note.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Notification.objects.filter(pk=note.pk).exists()
