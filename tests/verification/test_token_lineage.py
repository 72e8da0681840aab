"""/sync tells the continuity tracker which client used which token, within bounds an anonymous
caller cannot push: rate limits, one flag per token per window, a flag budget, no rows per reader."""

import pytest
from django.core import signing

from checkpoints.services import create_checkpoint
from checkpoints.tokens import SALT
from events.models import Event
from events.store import NewEvent
from tests.support.log import record_to
from verification import clients
from verification.models import ClientSession, Flag

pytestmark = pytest.mark.django_db
HEADER = "HTTP_X_SELFPLAY_SESSION"


@pytest.fixture
def token(client, settings):
    settings.SELFPLAY_PUBLISH_EVENTS = False
    record_to("agent:ada", [NewEvent("test.noted", {"n": i}) for i in range(3)])
    create_checkpoint("agent:ada")
    return client.get("/checkpoint/latest", {"streamId": "agent:ada"}).json()["token"]


def flag_events() -> int:
    return Event.objects.filter(type="verification.flag.raised").count()


def test_a_session_keeps_its_token_lineage_without_flags_or_rows(client, token):
    for _ in range(2):
        assert client.get("/sync", {"token": token}, **{HEADER: "tab-a"}).status_code == 200
    checkpoint_id = signing.loads(token, salt=SALT)["checkpointId"]
    assert clients.lineage(clients.session_ref("tab-a")) == [checkpoint_id]
    assert not Flag.objects.exists()
    assert not ClientSession.objects.exists()  # an unflagged reader leaves no row behind


def test_one_token_in_two_sessions_flags_the_second_once_without_naming_the_first(client, token):
    assert client.get("/sync", {"token": token}, **{HEADER: "tab-a"}).status_code == 200
    assert client.get("/sync", {"token": token}, **{HEADER: "tab-b"}).status_code == 200
    flag = Flag.objects.get()
    assert (flag.kind, flag.subject, flag.details["sessions"]) == (
        "token_shared", f"session:{clients.session_ref('tab-b')}", 2)
    # The public log names neither session by the id it sent, and never the other one at all.
    raised = str(Event.objects.get(type="verification.flag.raised").data)
    assert "tab-a" not in raised and "tab-b" not in raised and clients.session_ref("tab-a") not in raised
    session = ClientSession.objects.get()
    assert (session.id, session.suspect) == (clients.session_ref("tab-b"), True)


def test_forty_sessions_on_one_token_append_one_flag_and_update_it(client, token, settings):
    """The reported attack: 40 /sync calls, each naming a new session, used to append 40 flags."""
    settings.SELFPLAY_READ_RATE_LIMIT = 1000
    counts = []
    for i in range(40):
        assert client.get("/sync", {"token": token, "limit": 1}, **{HEADER: f"attacker-{i}"}).status_code == 200
        counts.append(Event.objects.count())
    # The second session raised the one flag (its event, and the checkpoint policy's own
    # bookkeeping of a new stream); the 38 sessions after it appended nothing.
    assert flag_events() == 1
    assert counts[1] > counts[0] and set(counts[1:]) == {counts[1]}
    flag = Flag.objects.get()
    assert (flag.subject, flag.details["sessions"]) == (f"session:{clients.session_ref('attacker-1')}", 40)
    assert ClientSession.objects.count() == 1


def test_flags_raised_for_requests_stop_at_the_hourly_budget(client, token, settings):
    settings.SELFPLAY_READ_RATE_LIMIT = 1000
    settings.SELFPLAY_REQUEST_FLAGS_PER_HOUR = 3
    payload = signing.loads(token, salt=SALT)
    for second in range(6):  # six distinct tokens (issuedAt differs), each shared by two sessions
        other = signing.dumps(payload | {"issuedAt": f"2099-01-01T00:00:0{second}Z"}, salt=SALT, compress=False)
        for tab in ("x", "y"):
            client.get("/sync", {"token": other}, **{HEADER: f"tab-{tab}{second}"})
    assert flag_events() == 3


def test_reads_are_rate_limited_per_address_with_retry_after(client, token, settings):
    settings.SELFPLAY_READ_RATE_LIMIT = 5
    # One read went to /checkpoint/latest for the token; every read counts, whatever the endpoint.
    answers = [client.get("/sync", {"token": token}).status_code for _ in range(4)]
    assert answers == [200] * 4
    for path, params in (("/sync", {"token": token}), ("/checkpoint/latest", {"streamId": "agent:ada"})):
        limited = client.get(path, params)
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited["Retry-After"]) == limited.json()["error"]["details"]["retryAfter"] in (59, 60)
    # A forged X-Forwarded-For is not a new client (no proxy is trusted by default) ...
    assert client.get("/sync", {"token": token}, HTTP_X_FORWARDED_FOR="10.9.8.7").status_code == 429
    # ... while another address has its own budget.
    assert client.get("/sync", {"token": token}, REMOTE_ADDR="10.0.0.2").status_code == 200


def test_a_token_ahead_of_the_head_is_refused_and_flags_the_client_once(client, token):
    ahead = signing.dumps(signing.loads(token, salt=SALT) | {"position": 9}, salt=SALT, compress=False)
    for _ in range(3):
        response = client.get("/sync", {"token": ahead}, **{HEADER: "tab-c"})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "token_invalid"
    flag = Flag.objects.get()
    assert (flag.kind, flag.subject) == ("token_ahead_of_head", f"session:{clients.session_ref('tab-c')}")
    assert flag.details == {"streamId": "agent:ada", "tokenPosition": 9, "headPosition": 3}


def test_without_a_session_the_flag_names_the_address_not_the_agent(client, token):
    ahead = signing.dumps(signing.loads(token, salt=SALT) | {"position": 10**9}, salt=SALT, compress=False)
    assert client.get("/sync", {"token": ahead}).status_code == 400
    flag = Flag.objects.get()
    assert flag.subject.startswith("client:") and "127.0.0.1" not in flag.subject
    assert not Flag.objects.filter(subject="agent:ada").exists()


def test_lineage_and_one_flag_per_shared_token_on_a_redis_cluster(client, token, settings, redis_cluster):
    """The same bounds with Selfplay's keys on a 3-master cluster (one MULTI per key there)."""
    settings.SELFPLAY_REDIS_STATE_URL = redis_cluster.url
    for session in ("tab-a", "tab-b", "tab-b", "tab-c"):
        assert client.get("/sync", {"token": token}, **{HEADER: session}).status_code == 200
    checkpoint_id = signing.loads(token, salt=SALT)["checkpointId"]
    assert [clients.lineage(clients.session_ref(s)) for s in ("tab-a", "tab-b")] == [[checkpoint_id]] * 2
    flag = Flag.objects.get()  # tab-b raised it; tab-c's sighting updated it
    assert (flag.kind, flag.details["sessions"]) == ("token_shared", 3)
    assert flag_events() == 1
