"""`GET /checkpoint/latest` and `GET /sync` (DESIGN §5): answers, paging and every error."""

import re
import uuid
from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone

from checkpoints.models import Checkpoint
from checkpoints.services import CHECKPOINT_STREAM, create_checkpoint
from checkpoints.streams import initial_state, replay_stream, stream_state
from checkpoints.tokens import SALT, decode_token, format_moment, issue_token
from events.store import ANY, read_stream, record
from selfplay.canonical import checksum

from .conftest import EPOCH
from .helpers import error_of, noted, record_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock_stream():
    """`system:clock` with 23 events and one checkpoint at position 3."""
    record_at(EPOCH, [("system:clock", noted(3))])
    record_at(EPOCH + timedelta(seconds=1), [("system:clock", noted(20, start=3))])
    return Checkpoint.objects.get(stream_id="system:clock")


def latest(client, stream_id):
    return client.get("/checkpoint/latest", {"streamId": stream_id})


def sync(client, **params):
    return client.get("/sync", params)


# --- GET /checkpoint/latest ------------------------------------------------------------------


def test_latest_answers_the_newest_checkpoint_and_a_token_for_it(client, clock_stream):
    newer = create_checkpoint("system:clock")
    response = latest(client, "system:clock")
    assert response.status_code == 200
    body = response.json()
    assert body["checkpoint"] == {
        "id": str(newer.pk), "streamId": "system:clock", "position": 23,
        "globalPosition": read_stream("system:clock")[-1].global_position,
        "checksum": newer.checksum, "createdAt": newer.created_at.isoformat().replace("+00:00", "Z"),
    }
    assert set(body) == {"token", "checkpoint"}
    payload = signing.loads(body["token"], salt=SALT)
    issued = timezone.now().replace(microsecond=0)
    assert payload == {
        "version": 1, "streamId": "system:clock", "agentId": None, "checkpointId": str(newer.pk),
        "position": 23, "checksum": newer.checksum, "issuedAt": payload["issuedAt"],
        "expiresAt": format_moment(decode_token(body["token"]).issued_at + timedelta(hours=24)),
    }
    assert abs(decode_token(body["token"]).issued_at - issued) <= timedelta(seconds=2)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z", payload["issuedAt"])


def test_latest_names_the_agent_of_an_agent_stream(client):
    record([("agent:ada", noted(2), ANY)])
    body = latest(client, "agent:ada").json()
    assert signing.loads(body["token"], salt=SALT)["agentId"] == "ada"
    assert body["checkpoint"]["position"] == 2


def test_latest_of_a_stream_without_checkpoint_is_404(client):
    response = latest(client, "agent:nobody")
    assert error_of(response) == (404, "no_checkpoint")
    assert response.json()["error"]["details"] == {"streamId": "agent:nobody"}


@pytest.mark.parametrize("params", [{}, {"streamId": ""}, {"streamId": "ada"}, {"streamId": "robot:ada"},
                                    {"streamId": "agent:Ada"}, {"streamId": "agent:" + "a" * 65}])
def test_latest_refuses_a_malformed_stream_id(client, params):
    response = client.get("/checkpoint/latest", params)
    assert error_of(response) == (400, "invalid")
    assert list(response.json()["error"]["details"]) == ["streamId"]


def test_the_endpoints_are_read_only_and_answer_in_the_error_shape(client, clock_stream):
    assert error_of(client.post("/sync", {})) == (405, "method_not_allowed")
    assert error_of(client.post("/checkpoint/latest", {})) == (405, "method_not_allowed")


def test_the_endpoints_are_anonymous_and_ignore_credentials(client, clock_stream):
    token = latest(client, "system:clock").json()["token"]
    response = client.get("/sync", {"token": token}, HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 200


# --- GET /sync -------------------------------------------------------------------------------


def test_sync_answers_the_state_and_the_events_after_the_checkpoint(client, clock_stream):
    token = latest(client, "system:clock").json()["token"]
    response = sync(client, token=token)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"checkpoint", "state", "events", "lastPosition", "headPosition", "complete"}
    assert body["checkpoint"]["id"] == str(clock_stream.pk)
    assert body["state"] == {"streamId": "system:clock", "events": 3, "lastType": "test.noted",
                             "types": {"test.noted": 3}}
    assert body["events"] == [e.to_wire() for e in read_stream("system:clock", after=3)]
    assert (body["lastPosition"], body["headPosition"], body["complete"]) == (23, 23, True)
    assert replay_stream("system:clock", body["state"], body["events"]) == stream_state("system:clock")[0]


def test_sync_pages_every_position_exactly_once_until_complete(client, clock_stream):
    token = latest(client, "system:clock").json()["token"]
    seen, pages, after = [], [], None
    while True:
        params = {"token": token, "limit": 6} | ({} if after is None else {"after": after})
        body = sync(client, **params).json()
        pages.append([e["position"] for e in body["events"]])
        seen += body["events"]
        after = body["lastPosition"]
        assert body["headPosition"] == 23
        if body["complete"]:
            break
    assert pages == [[4, 5, 6, 7, 8, 9], [10, 11, 12, 13, 14, 15], [16, 17, 18, 19, 20, 21], [22, 23]]
    assert [e["position"] for e in seen] == list(range(4, 24))
    empty = sync(client, token=token, after=23).json()
    assert (empty["events"], empty["lastPosition"], empty["complete"]) == ([], 23, True)
    replayed = replay_stream("system:clock", body["state"], seen)
    assert checksum(replayed) == checksum(stream_state("system:clock")[0])


def test_sync_from_zero_serves_the_whole_stream(client, clock_stream):
    token = latest(client, "system:clock").json()["token"]
    body = sync(client, token=token, after=0, limit=5000).json()
    assert [e["position"] for e in body["events"]] == list(range(1, 24))
    assert replay_stream("system:clock", initial_state("system:clock"), body["events"]) == stream_state("system:clock")[0]


def test_sync_never_serves_past_the_head_it_reports(client, clock_stream):
    token = latest(client, "system:clock").json()["token"]
    record([("system:clock", noted(2, start=23), ANY)])
    body = sync(client, token=token, after=20, limit=3).json()
    assert ([e["position"] for e in body["events"]], body["headPosition"], body["complete"]) == ([21, 22, 23], 25, False)


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 0}, "limit"), ({"limit": 5001}, "limit"), ({"limit": "ten"}, "limit"),
    ({"after": -1}, "after"), ({"after": "x"}, "after"), ({"token": None}, "token"), ({"token": ""}, "token"),
])
def test_sync_refuses_parameters_out_of_range(client, clock_stream, params, field):
    token = latest(client, "system:clock").json()["token"]
    query = {"token": token} | {k: v for k, v in params.items() if v is not None}
    if params.get("token", "") is None:
        del query["token"]
    response = sync(client, **query)
    assert error_of(response) == (400, "invalid")
    assert list(response.json()["error"]["details"]) == [field]


def test_sync_refuses_after_past_the_head(client, clock_stream):
    token = latest(client, "system:clock").json()["token"]
    response = sync(client, token=token, after=24)
    assert error_of(response) == (400, "invalid")
    assert response.json()["error"]["details"] == {"after": 24, "headPosition": 23}
    assert sync(client, token=token, limit=5000).status_code == 200


# --- the schema ------------------------------------------------------------------------------


def test_the_schema_documents_both_endpoints_and_their_errors(client):
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    latest_get, sync_get = paths["/checkpoint/latest"]["get"], paths["/sync"]["get"]
    assert sorted(latest_get["responses"]) == ["200", "400", "404", "429"]
    assert sorted(sync_get["responses"]) == ["200", "400", "409", "410", "429", "503"]
    assert latest_get["responses"]["429"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}
    assert [(p["name"], p["in"], p.get("required", False)) for p in latest_get["parameters"]] == [
        ("streamId", "query", True)]
    assert sorted((p["name"], p["in"], p.get("required", False)) for p in sync_get["parameters"]) == [
        ("X-Selfplay-Session", "header", False), ("after", "query", False), ("limit", "query", False),
        ("token", "query", True)]


def test_a_token_for_an_unannounced_checkpoint_stream_still_syncs(client):
    record([("system:clock", noted(1), ANY)])
    token, _ = issue_token(Checkpoint.objects.get(stream_id=CHECKPOINT_STREAM))
    body = sync(client, token=token, after=0).json()
    assert [e["data"]["streamId"] for e in body["events"]] == ["system:clock", CHECKPOINT_STREAM]
    assert uuid.UUID(body["checkpoint"]["id"])
