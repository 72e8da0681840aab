"""The operator's capability pages: installed plugins with status, grants on the agent, the inbox."""

import re

import pytest
from django.contrib.auth.models import User

from agents.models import Agent, Notification
from events.store import read_stream

from .helpers import HERE_BROKEN

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    user = User.objects.create_user("olga", password="pw-olga-123", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_the_capabilities_page_lists_each_plugin_with_its_status_and_reason(operator, settings):
    settings.SELFPLAY_CAPABILITIES = {"hash": "agents.capabilities.builtin.Sha256Hash", "notify": HERE_BROKEN}
    page = operator.get("/admin/agents/notification/capabilities/")
    assert page.status_code == 200
    rows = {c["name"]: (c["status"], c["reason"]) for c in page.context["capabilities"]}
    assert rows["hash"] == ("available", "")
    assert rows["notify"] == ("unavailable", "RuntimeError: no configuration for this plugin")
    html = page.content.decode()
    assert '<tr data-capability="notify"><td>notify</td><td><strong>unavailable</strong></td>' in html
    assert "RuntimeError: no configuration for this plugin" in html
    inbox = operator.get("/admin/agents/notification/")
    assert inbox.status_code == 200 and "/admin/agents/notification/capabilities/" in inbox.content.decode()


def test_a_player_cannot_see_the_capabilities_page(client):
    client.force_login(User.objects.create_user("pat", password="pw-pat-12345"))
    assert client.get("/admin/agents/notification/capabilities/").status_code == 302


def test_grants_edited_on_the_agent_are_recorded_in_its_stream(operator, hall):
    response = operator.post("/admin/agents/agent/ada/change/",
                             {"brain": "hasher", "owner": "", "capability_grants": ["hash", "notify"]}, follow=True)
    assert response.status_code == 200
    [granted] = [e for e in read_stream("agent:ada") if e.type == "agent.capabilities.granted"]
    assert (granted.data, granted.metadata["actor"]) == (
        {"agentId": "ada", "region": "hall", "grants": ["hash", "notify"], "previous": []}, "operator:olga")
    assert Agent.objects.get(id="ada").capability_grants == ["hash", "notify"]
    form = operator.get("/admin/agents/agent/ada/change/").content.decode()
    boxes = re.findall(r'<input type="checkbox" name="capability_grants" value="(\w+)"[^>]*?( checked)?>', form)
    assert [(value, bool(on)) for value, on in boxes] == [
        ("hash", True), ("notify", True), ("post", False), ("read_authenticated", False), ("read_public", False),
        ("store", False)]
    # Saving again unchanged records nothing more.
    operator.post("/admin/agents/agent/ada/change/",
                  {"brain": "hasher", "owner": "", "capability_grants": ["hash", "notify"]})
    assert [e.type for e in read_stream("agent:ada")].count("agent.capabilities.granted") == 1


def test_the_inbox_lists_notifications_read_only(operator, hall):
    Notification.objects.create(request_id="r-1", agent_id="bo", message="the bridge is built")
    page = operator.get("/admin/agents/notification/")
    assert "the bridge is built" in page.content.decode()
    assert operator.get("/admin/agents/notification/add/").status_code == 403
