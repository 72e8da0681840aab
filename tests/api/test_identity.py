"""Players, their tokens and agents' keys: selfplay_player and the admin's key management."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from agents.auth import key_digest
from agents.models import Agent, AgentKey, PlayerToken
from events.models import Event
from events.projections import load_state

from .conftest import client_for

pytestmark = pytest.mark.django_db


def run_player(*args) -> list[str]:
    out = io.StringIO()
    call_command("selfplay_player", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_selfplay_player_creates_owns_and_prints_a_token_last_stored_only_hashed(world):
    lines = run_player("alice", "--agent", "ada")
    alice = User.objects.get(username="alice")
    stored = PlayerToken.objects.get(user=alice)
    assert (stored.digest, stored.prefix) == (key_digest(lines[-1]), lines[-1][:12])
    assert lines[-1] not in {stored.digest, stored.prefix}
    assert Agent.objects.get(id="ada").owner == alice
    # Again, with another agent: a new token (the first cannot be shown again), both still valid.
    again = run_player("alice", "--agent", "bob")
    assert again[-1] != lines[-1]
    assert set(PlayerToken.objects.filter(user=alice).values_list("digest", flat=True)) == {
        key_digest(lines[-1]), key_digest(again[-1])}
    assert set(Agent.objects.filter(owner=alice).values_list("id", flat=True)) == {"ada", "bob"}
    assert "updated player alice; owns ada, bob" in again[0]


def test_ownership_reaches_the_log_and_the_projections(world):
    run_player("alice", "--agent", "ada")
    changed = Event.objects.filter(type="agent.owner.changed").get()
    assert (changed.stream_id, changed.data["agentId"], changed.data["owner"], changed.data["previous"]) == (
        "world:meadow", "ada", "alice", None)
    assert load_state("agents", "meadow")[0]["agents"]["ada"]["owner"] == "alice"
    assert load_state("world", "meadow")[0]["agents"]["ada"]["owner"] == "alice"


def test_selfplay_player_refuses_unknown_agents_and_writes_nothing(world):
    with pytest.raises(CommandError, match="no such agent"):
        run_player("carol", "--agent", "zed")
    assert not User.objects.filter(username="carol").exists()


@pytest.mark.parametrize("username", ["", "   ", "bad name", "x" * 151])
def test_selfplay_player_refuses_a_username_the_log_cannot_name(world, username):
    with pytest.raises(CommandError, match="invalid username"):
        run_player(username, "--agent", "ada")
    assert User.objects.count() == 0 and Agent.objects.get(id="ada").owner is None


def test_the_printed_token_authenticates_commands(world):
    token = run_player("alice", "--agent", "ada")[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.post("/command", {"kind": "pause", "streamId": "agent:ada"}, format="json")
    assert response.status_code == 202


def test_operator_creates_a_key_in_the_admin_and_it_works_once_shown(world, client):
    operator = User.objects.create_superuser("root", "root@example.com", "pw-root-123")
    client.force_login(operator)
    response = client.post("/admin/agents/agentkey/add/", {"agent": "ada"}, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    key = next(m.split(" is ")[1].split(" ")[0] for m in shown if "new credential for ada" in m)
    stored = AgentKey.objects.get(agent_id="ada")
    assert key.startswith(stored.prefix) and key not in stored.digest
    decision = {"kind": "decision", "streamId": "agent:ada", "action": {"type": "rest"}}
    assert client_for(agent_key=key).post("/command", decision, format="json").status_code == 202
    client.post("/admin/agents/agentkey/", {"action": "revoke", "_selected_action": [stored.pk]})
    refused = client_for(agent_key=key).post("/command", decision, format="json")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthenticated"


def test_a_revoked_or_inactive_players_token_is_refused(world):
    token = run_player("alice", "--agent", "ada")[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    pause = {"kind": "pause", "streamId": "agent:ada"}
    User.objects.filter(username="alice").update(is_active=False)
    assert client.post("/command", pause, format="json").status_code == 401
    User.objects.filter(username="alice").update(is_active=True)
    PlayerToken.objects.update(revoked_at=timezone.now())
    assert client.post("/command", pause, format="json").status_code == 401
