"""POST /command (DESIGN §5): authorization, conflicts, idempotency, rate limits, validation."""

import uuid
from datetime import timedelta

import pytest

from agents.models import Agent, PendingCommand, Region
from agents.services import tick_region
from events.models import Event
from events.store import read_stream

pytestmark = pytest.mark.django_db

BODIES = {
    "override": {"kind": "override", "streamId": "agent:ada", "action": {"type": "rest"}, "reason": "tired"},
    "decision": {"kind": "decision", "streamId": "agent:ada", "action": {"type": "move", "dx": 1, "dy": 0}},
    "pause": {"kind": "pause", "streamId": "agent:ada", "reason": "maintenance"},
    "resume": {"kind": "resume", "streamId": "agent:ada", "reason": "back"},
}

# principal -> kind -> expected status; resume is tried on a paused agent.
MATRIX = {
    "owner":           {"override": 202, "decision": 403, "pause": 202, "resume": 202},
    "other_player":    {"override": 403, "decision": 403, "pause": 403, "resume": 403},
    "anonymous":       {"override": 401, "decision": 401, "pause": 401, "resume": 401},
    "operator":        {"override": 202, "decision": 403, "pause": 202, "resume": 202},
    "own_agent_key":   {"override": 403, "decision": 202, "pause": 403, "resume": 403},
    "other_agent_key": {"override": 403, "decision": 403, "pause": 403, "resume": 403},
}
ACTORS = {"owner": "player:alice", "operator": "operator:olga", "own_agent_key": "agent:ada"}
CODES = {202: None, 401: "unauthenticated", 403: "forbidden"}


@pytest.mark.parametrize("principal,kind", [(p, k) for p in MATRIX for k in BODIES])
def test_authorization_matrix(principals, principal, kind):
    if kind == "resume":
        Agent.objects.filter(id="ada").update(status="paused")
    before = Event.objects.count()
    response = principals[principal].post("/command", BODIES[kind], format="json")
    expected = MATRIX[principal][kind]
    assert response.status_code == expected, response.json()
    if expected != 202:
        assert response.json()["error"]["code"] == CODES[expected]
        assert Event.objects.count() == before
        return
    body = response.json()
    assert body["accepted"] is True and body["streamId"] == "agent:ada"
    event = read_stream("agent:ada", after=body["position"] - 1, limit=1)[0]
    assert event.id == body["eventId"]
    assert event.metadata["actor"] == ACTORS[principal]
    assert Event.objects.count() == before + 1


def test_override_takes_effect_at_the_next_tick_with_causation(principals, world):
    answer = principals["owner"].post("/command", {**BODIES["override"], "action": {"type": "say", "text": "hi"}},
                                      format="json").json()
    override = read_stream("agent:ada", after=answer["position"] - 1)[0]
    assert override.type == "player.override.submitted"
    assert override.data["action"] == {"type": "say", "text": "hi"} and override.data["reason"] == "tired"
    region = Region.objects.get(id="meadow")
    report = tick_region(region_id="meadow", now=region.epoch + timedelta(seconds=2 * answer["appliesAtTick"]))
    assert report.ticks == [answer["appliesAtTick"]]
    submitted = read_stream("agent:ada", after=answer["position"])[0]
    assert submitted.type == "agent.action.submitted"
    assert submitted.data["source"] == "override"
    assert submitted.data["action"] == {"type": "say", "text": "hi"}
    assert submitted.metadata["actor"] == "player:alice"
    assert submitted.metadata["causationId"] == answer["eventId"]
    outcome = next(e for e in read_stream("world:meadow", limit=5000)
                   if e.type.startswith("agent.action.") and e.data["agentId"] == "ada"
                   and e.data["tick"] == answer["appliesAtTick"])
    assert outcome.type == "agent.action.succeeded"
    assert outcome.data["effects"]["said"] == "hi"
    assert outcome.metadata["causationId"] == answer["eventId"]
    # The projection says what the pages say: whose decision it was, and the override's reason.
    projected = principals["anonymous"].get("/projection/agents", {"key": "meadow"}).json()
    assert projected["state"]["agents"]["ada"]["lastAction"] == {
        "action": {"type": "say", "text": "hi"}, "reason": None, "source": "override", "overrideReason": "tired"}
    assert submitted.data["reason"] == "tired"
    assert not PendingCommand.objects.exists()


def test_one_pending_override_per_agent_per_tick(principals):
    first = principals["owner"].post("/command", BODIES["override"], format="json")
    assert first.status_code == 202
    second = principals["operator"].post("/command", BODIES["override"], format="json")
    assert second.status_code == 409
    error = second.json()["error"]
    assert error["code"] == "conflict"
    assert error["details"]["pendingEventId"] == first.json()["eventId"]
    assert error["details"]["pendingActor"] == "player:alice"


def test_same_idempotency_key_returns_the_first_answer_and_appends_nothing(principals):
    body = {**BODIES["override"], "idempotencyKey": str(uuid.uuid4())}
    first = principals["owner"].post("/command", body, format="json")
    count = Event.objects.count()
    again = principals["owner"].post("/command", body, format="json")
    assert (again.status_code, again.json()) == (202, first.json())
    assert Event.objects.count() == count
    # Another actor's identical key is their own key: it does not replay alice's answer.
    other = principals["operator"].post("/command", body, format="json")
    assert other.status_code == 409


def test_rate_limit_is_hard_and_says_when_to_retry(principals, settings):
    settings.SELFPLAY_COMMAND_RATE_LIMIT = 3
    settings.SELFPLAY_COMMAND_RATE_WINDOW_SECONDS = 60
    statuses = []
    for _ in range(5):
        statuses.append(principals["owner"].post("/command", {**BODIES["override"], "action": {"type": "fly"}},
                                                 format="json"))
    assert [r.status_code for r in statuses] == [400, 400, 400, 429, 429]
    limited = statuses[-1]
    assert limited.json()["error"]["code"] == "rate_limited"
    # The window opened with the first of these requests, a moment ago: 60 s (or 59 once a
    # second has begun to pass) remain, and the header and the details agree.
    assert int(limited["Retry-After"]) == limited.json()["error"]["details"]["retryAfter"]
    assert int(limited["Retry-After"]) in (59, 60)
    # The limit is per actor: the operator is not limited by alice's requests.
    assert principals["operator"].post("/command", BODIES["pause"], format="json").status_code == 202


def test_refused_attempts_count_against_the_limit_too(principals, settings):
    """Probing other players' agents (403) or unknown ones (404) is limited like commanding."""
    settings.SELFPLAY_COMMAND_RATE_LIMIT = 3
    mallory = principals["other_player"]
    statuses = [mallory.post("/command", {**BODIES["pause"], "streamId": stream}, format="json").status_code
                for stream in ("agent:ada", "agent:zed", "agent:ada", "agent:zed")]
    assert statuses == [403, 404, 403, 429]


@pytest.mark.parametrize("body,field", [
    ({"kind": "override", "streamId": "agent:ada", "action": {"type": "fly"}}, "action"),
    ({"kind": "override", "streamId": "agent:ada", "action": {"type": "move", "dx": 5, "dy": 0}}, "action"),
    ({"kind": "override", "streamId": "agent:ada"}, "action"),
    ({"kind": "teleport", "streamId": "agent:ada"}, "kind"),
    ({"kind": "override", "action": {"type": "rest"}}, "streamId"),
    ({"kind": "override", "streamId": "world:meadow", "action": {"type": "rest"}}, "streamId"),
    ({"kind": "override", "streamId": "agent:ada", "action": {"type": "rest"}, "idempotencyKey": "x"}, "idempotencyKey"),
    ({"kind": "override", "streamId": "agent:ada", "action": {"type": "rest"}, "reason": "r" * 501}, "reason"),
    ({"kind": "pause", "streamId": "agent:ada", "idempotencyKey": 5}, "idempotencyKey"),  # not a string
    ({"kind": "pause", "streamId": " agent:ada"}, "streamId"),
    ({"kind": "pause", "streamId": "agent:ada\n"}, "streamId"),
    # What the store cannot hold is invalid (400), not the server failing (503).
    ({"kind": "override", "streamId": "agent:ada", "action": {"type": "use", "capability": "hash",
                                                              "args": {"a": "\u0000"}}}, "action"),
    ({"kind": "override", "streamId": "agent:ada", "action": {"type": "use", "capability": "hash",
                                                              "args": {"a": 2**70}}}, "action"),
])
def test_invalid_bodies_name_the_field_and_append_nothing(principals, body, field):
    before = Event.objects.count()
    response = principals["owner"].post("/command", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["details"]
    assert Event.objects.count() == before


def test_an_unpaired_surrogate_in_use_args_is_invalid(principals):
    raw = b'{"kind": "override", "streamId": "agent:ada", "action": {"type": "use", "capability": "hash", ' \
          b'"args": {"a": "\\ud800"}}}'
    response = principals["owner"].generic("POST", "/command", raw, content_type="application/json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid")
    assert "storable" in response.json()["error"]["details"]["action"]["args"]


def test_operator_needs_a_reason(principals):
    response = principals["operator"].post("/command", {**BODIES["pause"], "reason": ""}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"reason": "required for operators"}


def test_unknown_agent_is_not_found(principals):
    response = principals["operator"].post("/command", {**BODIES["pause"], "streamId": "agent:zed"}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("raw,content_type", [
    (b"{not json", "application/json"),
    (b"[1, 2]", "application/json"),
    (b"kind=override", "application/x-www-form-urlencoded"),
    (b'{"kind": "pause", "streamId": "agent:ada", "reason": "' + b"x" * 20000 + b'"}', "application/json"),
])
def test_malformed_bodies_get_clear_errors(principals, raw, content_type):
    before = Event.objects.count()
    response = principals["owner"].generic("POST", "/command", raw, content_type=content_type)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert Event.objects.count() == before


def test_pause_then_resume_changes_status_and_the_tick_mirrors_it(principals, world):
    assert principals["owner"].post("/command", BODIES["pause"], format="json").status_code == 202
    assert Agent.objects.get(id="ada").status == "paused"
    again = principals["owner"].post("/command", BODIES["pause"], format="json")
    assert again.status_code == 409
    region = Region.objects.get(id="meadow")
    tick_region(region_id="meadow", now=region.epoch + timedelta(seconds=4))
    paused = [e for e in read_stream("world:meadow", limit=5000) if e.type == "agent.paused"]
    assert [(e.data["agentId"], e.data["tick"]) for e in paused] == [("ada", 2)]
    assert principals["owner"].post("/command", BODIES["resume"], format="json").status_code == 202
    assert Agent.objects.get(id="ada").status == "active"
