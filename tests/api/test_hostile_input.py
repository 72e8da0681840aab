"""Bad input from anyone gets a 400 with the error shape (or a 404), never a 5xx, and writes nothing.

Concurrent retries of one idempotency key race through real daphne in tests/e2e/test_hostile_clients.py."""

import json
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator

from events.models import Event
from events.store import InvalidStreamId, check_stream_id

pytestmark = pytest.mark.django_db

OVERRIDE = {"kind": "override", "streamId": "agent:ada", "reason": "test"}


def post_raw(client, text: str):
    return client.post("/command", text, content_type="application/json")


@pytest.mark.parametrize("body", [
    '{"kind": "override", "streamId": "agent:ada", "action": ' + "[" * 5000 + "]" * 5000 + "}",
    json.dumps({**OVERRIDE, "action": {"type": "say", "text": "\ud800"}}),
    json.dumps({**OVERRIDE, "action": {"type": "say", "text": "nul \x00 here"}}),
    json.dumps({**OVERRIDE, "action": {"type": "move", "dx": 1, "dy": 0, "\ud800": 1}}),
    json.dumps({**OVERRIDE, "action": {"type": "rest"}, "reason": "why\x00"}),
    json.dumps({**OVERRIDE, "action": {"type": "rest"}, "reason": "\udfff"}),
], ids=["nested-5000", "surrogate-text", "nul-text", "surrogate-key", "nul-reason", "surrogate-reason"])
def test_unstorable_or_undecodable_commands_are_400(principals, body):
    before = Event.objects.count()
    response = post_raw(principals["owner"], body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"
    assert Event.objects.count() == before


def test_a_stream_id_with_a_trailing_newline_is_not_a_stream_id():
    with pytest.raises(InvalidStreamId):
        check_stream_id("world:meadow\n")


def test_the_rate_limiter_down_is_a_plain_503_with_retry_after(principals, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = principals["owner"].post("/command", {**OVERRIDE, "action": {"type": "rest"}}, format="json")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "unavailable" and "111" not in json.dumps(error) and "127.0.0.1" not in json.dumps(error)
    assert response["Retry-After"] == str(error["details"]["retryAfter"])


@pytest.mark.parametrize("path", ["/static/%2e%2e/selfplay/settings.py", "/static/../selfplay/settings.py",
                                  "/static/%2e%2e/%2e%2e/etc/passwd"])
def test_paths_outside_the_static_folders_are_404_not_500(path):
    from selfplay.asgi import application

    response = async_to_sync(HttpCommunicator(application, "GET", path).get_response)()
    assert response["status"] == 404
    assert b"SECRET_KEY" not in response["body"]


def test_a_key_reused_for_another_command_is_422_idempotency_mismatch(principals):
    key = str(uuid.uuid4())
    client = principals["owner"]
    first = client.post("/command", {**OVERRIDE, "action": {"type": "rest"}, "idempotencyKey": key}, format="json")
    assert first.status_code == 202
    before = Event.objects.count()
    other = client.post("/command", {**OVERRIDE, "action": {"type": "idle"}, "idempotencyKey": key}, format="json")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_mismatch"
    assert other.json()["error"]["details"]["eventId"] == first.json()["eventId"]
    assert Event.objects.count() == before


def test_reason_must_be_a_string_as_the_schema_says(principals):
    response = principals["owner"].post("/command", {**OVERRIDE, "action": {"type": "rest"}, "reason": 0},
                                        format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid")
    assert "reason" in response.json()["error"]["details"]


def test_the_schema_is_as_exact_as_the_server(client):
    """What Schemathesis found looser than the server: the stream id's pattern, a blank projection
    key, the token's shape, the action's exact shape (the game's own schema)."""
    from selfplay.world import action_schema

    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    command = schema["paths"]["/command"]["post"]["requestBody"]
    assert command["required"] is True
    override, pause = command["content"]["application/json"]["schema"]["oneOf"]
    assert override["properties"]["action"] == action_schema()
    assert override["required"] == ["kind", "streamId", "action"] and pause["required"] == ["kind", "streamId"]
    assert override["properties"]["streamId"]["pattern"] == "^agent:[a-z0-9][a-z0-9-]{0,63}$"
    params = {p["name"]: p["schema"] for path in ("/checkpoint/latest", "/sync", "/projection/{name}")
              for p in schema["paths"][path]["get"]["parameters"]}
    assert params["streamId"]["pattern"].startswith("^(world|agent|verification|system):")
    assert params["key"]["minLength"] == 1
    assert params["token"]["pattern"] == "^[A-Za-z0-9_-]+:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$"
