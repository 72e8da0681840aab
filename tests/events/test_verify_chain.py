"""`verify_chain` exits 0 on intact chains and 1 naming the first break."""

import io

import pytest
from django.core.management import call_command

from events.store import NewEvent, append
from tests.support.tamper import tamper

pytestmark = pytest.mark.django_db


def run_verify_chain(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_chain", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def two_streams():
    append("agent:ada", [NewEvent("agent.moved", {"n": i}) for i in range(4)])
    append("agent:bob", [NewEvent("agent.moved", {"n": i}) for i in range(3)])


def test_intact_store_exits_zero(two_streams):
    code, out, _ = run_verify_chain()
    assert code == 0
    assert out.strip() == "ok: 2 streams, 7 events, every chain intact"


def test_tampered_data_exits_one_naming_stream_and_position(two_streams):
    tamper("UPDATE events_event SET data = %s WHERE stream_id = %s AND position = %s",
           ['{"n": 99}', "agent:bob", 2])
    code, _, err = run_verify_chain()
    assert code == 1
    assert "agent:bob at position 2: hash does not match the event's content" in err


def test_broken_link_is_named(two_streams):
    tamper("UPDATE events_event SET prev_hash = %s WHERE stream_id = %s AND position = %s",
           ["0" * 64, "agent:ada", 3])
    code, _, err = run_verify_chain("--stream", "agent:ada")
    assert code == 1
    assert "agent:ada at position 3: prevHash does not link" in err


def test_one_stream_only_and_unknown_stream(two_streams):
    tamper("UPDATE events_event SET type = %s WHERE stream_id = %s AND position = %s",
           ["agent.teleported", "agent:ada", 1])
    assert run_verify_chain("--stream", "agent:bob")[0] == 0
    assert run_verify_chain("--stream", "agent:ada")[0] == 1
    from django.core.management.base import CommandError
    with pytest.raises(CommandError, match="no such stream"):
        call_command("verify_chain", "--stream", "agent:zed")
