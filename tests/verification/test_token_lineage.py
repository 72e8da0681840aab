"""/sync tells the continuity tracker which client session used which token."""

import pytest
from django.core import signing

from checkpoints.services import create_checkpoint
from checkpoints.tokens import SALT
from events.store import NewEvent, append
from verification.models import ClientSession, Flag

pytestmark = pytest.mark.django_db
HEADER = "HTTP_X_SELFPLAY_SESSION"


@pytest.fixture
def token(client, settings):
    settings.SELFPLAY_PUBLISH_EVENTS = False
    append("agent:ada", [NewEvent("test.noted", {"n": i}) for i in range(3)])
    create_checkpoint("agent:ada")
    return client.get("/checkpoint/latest", {"streamId": "agent:ada"}).json()["token"]


def test_a_session_keeps_its_token_lineage_without_flags(client, token):
    for _ in range(2):
        assert client.get("/sync", {"token": token}, **{HEADER: "tab-a"}).status_code == 200
    session = ClientSession.objects.get(id="tab-a")
    assert len(session.tokens) == 1 and session.suspect is False
    assert not Flag.objects.exists()


def test_one_token_in_two_sessions_flags_the_second_but_answers_both(client, token):
    assert client.get("/sync", {"token": token}, **{HEADER: "tab-a"}).status_code == 200
    assert client.get("/sync", {"token": token}, **{HEADER: "tab-b"}).status_code == 200
    flag = Flag.objects.get()
    assert (flag.kind, flag.subject, flag.details["otherSessions"]) == ("token_shared", "session:tab-b", ["tab-a"])
    assert ClientSession.objects.get(id="tab-b").suspect is True


def test_a_token_ahead_of_the_head_is_refused_and_flagged(client, token):
    ahead = signing.dumps(signing.loads(token, salt=SALT) | {"position": 9}, salt=SALT, compress=False)
    response = client.get("/sync", {"token": ahead}, **{HEADER: "tab-c"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "token_invalid"
    flag = Flag.objects.get()
    assert (flag.kind, flag.subject) == ("token_ahead_of_head", "session:tab-c")
    assert flag.details == {"streamId": "agent:ada", "tokenPosition": 9, "headPosition": 3}
