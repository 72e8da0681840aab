from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from agents.auth import issue_key, issue_player_token
from agents.models import Agent
from agents.services import NewAgent, create_region, spawn_agents, tick_region


@pytest.fixture(autouse=True)
def quiet(settings):
    settings.SELFPLAY_PUBLISH_EVENTS = False


@pytest.fixture
def world(db):
    from django.utils import timezone

    region = create_region(region_id="meadow", seed=5, epoch=timezone.now() - timedelta(seconds=3600))
    spawn_agents(region_id="meadow", rng_seed=5, agents=[
        NewAgent(id="ada", name="Ada", brain="forager"),
        NewAgent(id="bob", name="Bob", brain="wanderer"),
    ])
    # Tick 1, recorded by the wall clock like everything these tests record afterwards.
    tick_region(region_id="meadow", now=region.epoch + timedelta(seconds=2), clock=timezone.now)
    return region


def client_for(user=None, *, agent_key=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {issue_player_token(user)}")
    if agent_key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"AgentKey {agent_key}")
    return client


@pytest.fixture
def principals(world):
    """Every kind of caller of the authorization matrix, as ready API clients."""
    owner = User.objects.create_user("alice", password="pw-alice-123")
    other = User.objects.create_user("mallory", password="pw-mallory-123")
    operator = User.objects.create_user("olga", password="pw-olga-123", is_staff=True)
    Agent.objects.filter(id="ada").update(owner=owner)
    return {
        "owner": client_for(owner),
        "other_player": client_for(other),
        "anonymous": APIClient(),
        "operator": client_for(operator),
        "own_agent_key": client_for(agent_key=issue_key(Agent.objects.get(id="ada"))),
        "other_agent_key": client_for(agent_key=issue_key(Agent.objects.get(id="bob"))),
    }
