"""Checkpoint tokens under attack: forged, flipped, foreign, expired, stale, ahead, corrupt, rotated."""

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone

from checkpoints.models import Checkpoint
from checkpoints.storage import RedisStorage
from checkpoints.tokens import SALT, TOKEN_PATTERN, issue_token
from selfplay.canonical import canonical_json
from selfplay.redis_client import client_for as redis_client

from .conftest import EPOCH
from .helpers import error_of, noted, record_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def checkpoint():
    """The checkpoint of `agent:ada` at position 2 (its head is 5)."""
    record_at(EPOCH, [("agent:ada", noted(2))])
    record_at(EPOCH + timedelta(seconds=1), [("agent:ada", noted(3, start=2))])
    return Checkpoint.objects.get(stream_id="agent:ada")


@pytest.fixture
def token(client, checkpoint) -> str:
    return client.get("/checkpoint/latest", {"streamId": "agent:ada"}).json()["token"]


def sync(client, token, **params):
    return client.get("/sync", {"token": token, **params})


def reason(response) -> str:
    return response.json()["error"]["details"].get("reason")


def resigned(token: str, **changes) -> str:
    """Return a validly signed token whose payload is the given token's, changed."""
    payload = signing.loads(token, salt=SALT) | changes
    return signing.dumps(payload, salt=SALT, compress=False)


def test_the_genuine_token_syncs(client, token):
    body = sync(client, token).json()
    assert (body["checkpoint"]["position"], [e["position"] for e in body["events"]]) == (2, [3, 4, 5])


def test_two_clients_asking_in_one_second_get_two_tokens(client, checkpoint):
    """One token seen from two sessions means it was shared: honest clients must not hold one."""
    moment = timezone.now().replace(microsecond=1000)
    first, _ = issue_token(checkpoint, now=moment)
    second, _ = issue_token(checkpoint, now=moment + timedelta(microseconds=1))
    assert first != second
    assert [sync(client, t).status_code for t in (first, second)] == [200, 200]


def test_a_token_issued_before_microseconds_still_syncs(client, token):
    payload = signing.loads(token, salt=SALT)
    legacy = resigned(token, issuedAt=payload["issuedAt"][:19] + "Z", expiresAt=payload["expiresAt"][:19] + "Z")
    assert sync(client, legacy).status_code == 200


def test_every_byte_of_a_token_flipped_is_refused(client, token, settings):
    settings.SELFPLAY_READ_RATE_LIMIT = 10_000  # hundreds of requests from one address, on purpose
    answers, expected = {}, {}
    for i in range(len(token)):
        flipped = token[:i] + chr(ord(token[i]) ^ 1) + token[i + 1:]
        response = sync(client, flipped)
        answers[i] = (*error_of(response), reason(response))
        # Out of the token's alphabet it is malformed; inside it, the signature does not hold.
        expected[i] = (400, "token_invalid", "bad_signature" if re.fullmatch(TOKEN_PATTERN, flipped) else "malformed")
    assert len(answers) == len(token) > 100
    assert answers == expected
    assert sum(1 for answer in expected.values() if answer[2] == "bad_signature") > len(token) // 2


@pytest.mark.parametrize("forged", ["", "x", "a:b", "a:b:c", ":::", "é" * 10, "A" * 5000])
def test_garbage_is_refused(client, forged):
    response = sync(client, forged)
    # A blank token is a missing parameter; anything else is a token that is not ours.
    assert error_of(response) == (400, "invalid" if forged == "" else "token_invalid")


def test_a_token_signed_with_another_secret_key_is_refused(client, token):
    payload = signing.loads(token, salt=SALT)
    foreign = signing.dumps(payload, key="somebody-else's-key", salt=SALT, compress=False)
    response = sync(client, foreign)
    assert error_of(response) == (400, "token_invalid")
    assert reason(response) == "bad_signature"


def test_a_token_signed_for_another_purpose_is_refused(client, token):
    payload = signing.loads(token, salt=SALT)
    response = sync(client, signing.dumps(payload, salt="django.contrib.sessions", compress=False))
    assert (error_of(response), reason(response)) == ((400, "token_invalid"), "bad_signature")


def test_an_expired_token_is_410(client, checkpoint):
    old, _ = issue_token(checkpoint, now=timezone.now() - timedelta(hours=24, seconds=1))
    response = sync(client, old)
    assert error_of(response) == (410, "token_expired")
    expires = signing.loads(old, salt=SALT)["expiresAt"]
    assert response.json()["error"]["details"] == {"expiresAt": expires}
    fresh_enough, _ = issue_token(checkpoint, now=timezone.now() - timedelta(hours=23, minutes=59))
    assert sync(client, fresh_enough).status_code == 200


def test_the_lifetime_comes_from_settings(client, checkpoint, settings):
    settings.SELFPLAY_TOKEN_TTL_SECONDS = 60
    token, payload = issue_token(checkpoint, now=timezone.now() - timedelta(seconds=61))
    assert payload.expires_at - payload.issued_at == timedelta(seconds=60)
    assert error_of(sync(client, token)) == (410, "token_expired")


def test_a_token_for_an_unknown_checkpoint_is_refused(client, token):
    response = sync(client, resigned(token, checkpointId=str(uuid.uuid4())))
    assert (error_of(response), reason(response)) == ((400, "token_invalid"), "unknown_checkpoint")


def test_retention_keeps_the_checkpoint_a_live_token_names(client, token, settings):
    settings.SELFPLAY_CHECKPOINT_RETENTION = 1
    record_at(EPOCH + timedelta(seconds=600), [("agent:ada", noted(1, start=5))])
    assert sync(client, token).status_code == 200


def test_a_token_whose_checkpoint_is_gone_is_refused(client, token):
    Checkpoint.objects.filter(pk=signing.loads(token, salt=SALT)["checkpointId"]).delete()
    response = sync(client, token)
    assert (error_of(response), reason(response)) == ((400, "token_invalid"), "unknown_checkpoint")


def test_a_token_issued_23_hours_ago_resyncs_without_falling_back(client, settings):
    """A day of checkpoints every 10 minutes after the token was issued: its checkpoint stays,
    the others of the day are thinned to one an hour, the newest five are all kept."""
    settings.SELFPLAY_CHECKPOINT_RETENTION = 5
    settings.SELFPLAY_CHECKPOINT_EVERY_SECONDS = 600
    record_at(EPOCH, [("agent:ada", noted(3))])
    checkpoint = Checkpoint.objects.get(stream_id="agent:ada")
    token, _ = issue_token(checkpoint, now=EPOCH)
    for step in range(1, 23 * 6 + 1):  # 23 hours, a checkpoint every 10 minutes
        record_at(EPOCH + timedelta(minutes=10 * step), [("agent:ada", noted(1, start=2 + step))])
    now = EPOCH + timedelta(hours=23)
    page = sync_page(token, now=now)
    assert (page.checkpoint.pk, page.last_position, page.head_position) == (checkpoint.pk, 141, 141)
    # Besides the token's: the newest five (22:20 … 23:00) and the newest of every other hour.
    kept = sorted(c.created_at for c in Checkpoint.objects.filter(stream_id="agent:ada").exclude(pk=checkpoint.pk))
    newest_of_hours = [EPOCH + timedelta(hours=h, minutes=50) for h in range(22)]
    assert kept == newest_of_hours + [EPOCH + timedelta(hours=22, minutes=m) for m in (20, 30, 40, 50)] + [now]
    # A day after it was issued the token has expired, and its checkpoint goes with the day-old rest.
    record_at(EPOCH + timedelta(hours=25), [("agent:ada", noted(1, start=200))])
    assert not Checkpoint.objects.filter(pk=checkpoint.pk).exists()
    assert min(c.created_at for c in Checkpoint.objects.filter(stream_id="agent:ada")) == EPOCH + timedelta(hours=1, minutes=50)


def sync_page(token, *, now):
    from checkpoints.selectors import sync as sync_selector

    return sync_selector(token=token, now=now, limit=5000)


def test_a_token_past_the_stream_head_is_refused(client, token):
    response = sync(client, resigned(token, position=6))
    assert (error_of(response), reason(response)) == ((400, "token_invalid"), "ahead_of_head")
    assert response.json()["error"]["details"] | {"reason": None} == {
        "reason": None, "position": 6, "headPosition": 5}


@pytest.mark.parametrize("changes", [{"position": 3}, {"checksum": "0" * 64}, {"streamId": "agent:bob", "agentId": "bob"}])
def test_a_token_that_does_not_match_its_checkpoint_is_refused(client, token, changes):
    record_at(EPOCH, [("agent:bob", noted(5))])
    response = sync(client, resigned(token, **changes))
    assert (error_of(response), reason(response)) == ((400, "token_invalid"), "mismatch")


@pytest.mark.parametrize("version", [2, 0, "1", True, None])
def test_a_token_of_another_version_is_refused(client, token, version):
    response = sync(client, resigned(token, version=version))
    assert (error_of(response), reason(response)) == ((400, "token_invalid"), "unsupported_version")


@pytest.mark.parametrize("changes", [
    {"agentId": "bob"}, {"agentId": None}, {"streamId": "robot:ada"}, {"checkpointId": "nope"},
    {"position": 0}, {"position": "2"}, {"checksum": "XYZ"}, {"issuedAt": "yesterday"},
    {"expiresAt": "2026-01-01T00:00:00+00:00"}, {"extra": 1},
])
def test_a_signed_but_malformed_payload_is_refused(client, token, changes):
    response = sync(client, resigned(token, **changes))
    assert (error_of(response), reason(response)) == ((400, "token_invalid"), "malformed")


@pytest.mark.parametrize("payload", ["a string", [1, 2], {"version": 1}])
def test_a_signed_payload_that_is_not_a_token_is_refused(client, payload):
    response = sync(client, signing.dumps(payload, salt=SALT, compress=False))
    assert (error_of(response), reason(response)) == ((400, "token_invalid"), "malformed")


def test_a_checkpoint_altered_in_the_database_is_409(client, token, checkpoint):
    Checkpoint.objects.filter(pk=checkpoint.pk).update(state={**checkpoint.state, "events": 99})
    response = sync(client, token)
    assert error_of(response) == (409, "checkpoint_corrupt")
    assert response.json()["error"]["details"] == {"checkpointId": str(checkpoint.pk), "checksum": checkpoint.checksum}


def test_a_checkpoint_altered_in_redis_is_409(client, redis_storage):
    record_at(EPOCH, [("agent:ada", noted(2))])
    checkpoint = Checkpoint.objects.get(stream_id="agent:ada")
    assert checkpoint.storage == "redis" and checkpoint.state is None
    token = client.get("/checkpoint/latest", {"streamId": "agent:ada"}).json()["token"]
    assert sync(client, token).status_code == 200
    key = RedisStorage().key(checkpoint)
    state = json.loads(redis_client(RedisStorage().url).get(key))
    redis_client(RedisStorage().url).set(key, canonical_json({**state, "decisions": 7}))
    assert error_of(sync(client, token)) == (409, "checkpoint_corrupt")
    redis_client(RedisStorage().url).set(key, b"{not json")
    assert error_of(sync(client, token)) == (409, "checkpoint_corrupt")
    redis_client(RedisStorage().url).delete(key)
    assert error_of(sync(client, token)) == (409, "checkpoint_corrupt")


def test_an_unreachable_redis_is_503(client, redis_storage, settings):
    record_at(EPOCH, [("agent:ada", noted(2))])
    token = client.get("/checkpoint/latest", {"streamId": "agent:ada"}).json()["token"]
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert error_of(sync(client, token)) == (503, "unavailable")


def test_tokens_survive_a_key_rotation_while_the_old_key_is_a_fallback(client, checkpoint, settings):
    old_key = settings.SECRET_KEY
    token, _ = issue_token(checkpoint)
    settings.SECRET_KEY = "a-brand-new-secret-key-for-selfplay-0123456789"
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert sync(client, token).status_code == 200
    settings.SECRET_KEY_FALLBACKS = []
    response = sync(client, token)
    assert (error_of(response), reason(response)) == ((400, "token_invalid"), "bad_signature")
    reissued = client.get("/checkpoint/latest", {"streamId": "agent:ada"}).json()["token"]
    assert sync(client, reissued).status_code == 200


def test_expiry_is_checked_before_the_checkpoint_is_looked_up(client, checkpoint):
    old, _ = issue_token(checkpoint, now=timezone.now() - timedelta(days=2))
    Checkpoint.objects.filter(pk=checkpoint.pk).delete()
    assert error_of(sync(client, old)) == (410, "token_expired")


def test_a_signed_token_that_claims_a_longer_life_than_the_ttl_is_refused(client, token):
    """Only a holder of the key can sign one, but no genuine token ever looks like this."""
    payload = signing.loads(token, salt=SALT) | {"expiresAt": "9999-12-31T23:59:59Z"}
    forever = signing.dumps(payload, salt=SALT, compress=False)
    response = sync(client, forever)
    assert (response.status_code, reason(response)) == (400, "lifetime")
