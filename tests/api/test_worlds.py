"""`POST /worlds/import` and `GET /worlds/<region>/export` over HTTP: who may, what comes back."""

import gzip
import json

import pytest
from django.contrib.auth.models import User

from agents.models import Agent, Region
from events.models import Event
from selfplay.local import logfile
from tests.local.worlds import REGION, local_run

from .conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_file() -> bytes:
    run = local_run(per_brain=1)
    run.run_to(5)
    return logfile.dumps(REGION, run.events).encode()


@pytest.fixture
def alice():
    return User.objects.create_user("alice", password="pw-alice-123")


def post(client, body: bytes, content_type: str = "application/json"):
    return client.generic("POST", "/worlds/import", body, content_type=content_type)


def test_a_player_imports_a_log_and_gets_the_new_region(alice, log_file):
    response = post(client_for(alice), log_file)
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("region", "owner", "ticks", "lastTick", "agents", "tickSeconds", "worldUrl")} == {
        "region": REGION, "owner": "alice", "ticks": 5, "lastTick": 5, "agents": 4, "tickSeconds": 2,
        "worldUrl": f"/world/{REGION}/"}
    assert set(Agent.objects.filter(region_id=REGION).values_list("owner__username", flat=True)) == {"alice"}


def test_the_browser_may_send_it_gzipped(alice, log_file):
    response = post(client_for(alice), gzip.compress(log_file), "application/gzip")
    assert response.status_code == 201, response.content


def test_a_tampered_log_gets_400_naming_the_event_and_writes_nothing(alice, log_file):
    text = log_file.decode()
    target = text.splitlines()[7]  # the 7th event
    tampered = text.replace(target, target.replace(f'"region":"{REGION}"', '"region":"loc-test0002"', 1)).encode()
    assert tampered != log_file
    before = Event.objects.count()
    response = post(client_for(alice), tampered)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    original = json.loads(target.rstrip(","))
    assert error["details"] == {"reason": "hash_mismatch", "index": 6, "streamId": original["streamId"],
                                "position": original["position"], "globalPosition": 7}
    assert "event #7 of the file" in error["message"]
    assert Event.objects.count() == before and not Region.objects.filter(id=REGION).exists()


@pytest.mark.parametrize("body,reason", [(b"", "not_json"), (b"{}", "format"), (b"\x1f\x8bjunk", "not_gzip")])
def test_what_is_not_a_log_gets_400(alice, body, reason):
    response = post(client_for(alice), body)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["reason"] == reason


def test_only_players_and_operators_import(principals, log_file):
    assert post(principals["anonymous"], log_file).json()["error"]["code"] == "unauthenticated"
    assert post(principals["anonymous"], log_file).status_code == 401
    response = post(principals["own_agent_key"], log_file)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")
    assert not Region.objects.filter(id=REGION).exists()


def test_imports_and_exports_are_rate_limited_per_actor(alice, log_file, settings):
    settings.SELFPLAY_IMPORT_RATE_LIMIT = 2
    client = client_for(alice)
    assert post(client, b"{}").status_code == 400
    assert client.get("/worlds/nowhere/export").status_code == 404  # not counted: nothing was built
    assert post(client, b"{}").status_code == 400
    response = post(client, log_file)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert int(response["Retry-After"]) > 0


def test_a_region_exports_as_a_file_that_verifies(principals, world):
    response = principals["owner"].get("/worlds/meadow/export")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="meadow.selfplay.json"'
    log = logfile.load(response.content)
    assert (log.region, log.last_tick, sorted(log.agents)) == ("meadow", 1, ["ada", "bob"])
    assert len(log.events) == Event.objects.filter(stream__id__in=["world:meadow", "agent:ada", "agent:bob"]).count()

    assert principals["anonymous"].get("/worlds/meadow/export").status_code == 401
    missing = principals["owner"].get("/worlds/atlantis/export")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")


def test_a_region_too_large_to_export_is_refused(principals, world, settings):
    settings.SELFPLAY_IMPORT_MAX_EVENTS = 3
    response = principals["owner"].get("/worlds/meadow/export")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["reason"] == "too_large"
