"""GET /worlds/<region>/agents/<id>/capabilities, and the agent page's capability card."""

import pytest
from django.contrib.auth.models import User

from agents.capabilities.services import grant_capabilities
from agents.models import Agent, Notification
from agents.services import tick_region

from ..worlds import at
from .helpers import perform_pending

pytestmark = pytest.mark.django_db


@pytest.fixture
def used(hall, settings):
    """bo (owned by alice) notified at ticks 1 and 2 (budget 20, notify costs 3); ada asked nothing granted."""
    alice = User.objects.create_user("alice", password="pw-alice-123")
    Agent.objects.filter(id="bo").update(owner=alice)
    grant_capabilities(agent_id="bo", grants=["notify"], actor="system")
    tick_region(region_id="hall", now=at(hall, 2))
    perform_pending()
    tick_region(region_id="hall", now=at(hall, 3))
    return alice


def test_anyone_reads_an_agents_grants_budget_spend_and_results(client, used):
    body = client.get("/worlds/hall/agents/bo/capabilities").json()
    notes = list(Notification.objects.filter(agent_id="bo").order_by("id"))
    assert [n.message for n in notes] == ["tick 1", "tick 2"]
    [third] = [r for r in body["results"] if r["tick"] == 3]
    assert body == {
        "agentId": "bo", "region": "hall", "tick": 3, "grants": ["notify"],
        # 20 - 3 at tick 1, +1 - 3 at tick 2, +1 - 3 at tick 3
        "budget": 13, "budgetCap": 20, "refillPerTick": 1, "spent": 9, "requests": 3,
        "costs": {"hash": 1, "notify": 3, "post": 8, "read_authenticated": 5, "read_public": 5, "store": 2},
        "results": [
            {"requestId": third["requestId"], "capability": "notify", "tick": 3, "status": "pending"},
            *[{"requestId": n.request_id, "capability": "notify", "tick": tick, "status": "completed",
               "result": {"notificationId": n.id}} for tick, n in ((2, notes[1]), (1, notes[0]))],
        ],
        "notifications": None,  # not the owner
    }


def test_the_owner_and_operators_also_see_the_notifications(client, used):
    client.force_login(used)
    mine = client.get("/worlds/hall/agents/bo/capabilities").json()["notifications"]
    assert [n["message"] for n in mine] == ["tick 2", "tick 1"]
    client.force_login(User.objects.create_user("olga", password="pw-olga-123", is_staff=True))
    assert len(client.get("/worlds/hall/agents/bo/capabilities").json()["notifications"]) == 2
    client.force_login(User.objects.create_user("mallory", password="pw-mallory-1"))
    assert client.get("/worlds/hall/agents/bo/capabilities").json()["notifications"] is None


def test_an_unknown_agent_is_not_found(client, hall):
    response = client.get("/worlds/hall/agents/zed/capabilities")
    assert (response.status_code, response.json()) == (404, {"error": {
        "code": "not_found", "message": "Region hall has no agent zed.", "details": {"region": "hall", "agentId": "zed"}}})


def test_the_agent_page_shows_grants_budget_and_the_owners_notifications(client, used):
    page = client.get("/agents/bo/").content.decode()
    assert '<dd id="cap-grants">notify</dd>' in page
    assert '<span id="cap-budget">13 of 20 (+1 a tick)</span>' in page
    assert '<dd id="cap-spent">9 over 3 requests</dd>' in page
    assert 'id="cap-notifications"' not in page
    client.force_login(used)
    page = client.get("/agents/bo/").content.decode()
    assert "<li>tick 2</li><li>tick 1</li>" in page
    assert '"agentCapabilities": "/worlds/REGION/agents/AGENT_ID/capabilities"' in page
