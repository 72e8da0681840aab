"""The log in the admin is read-only for everyone, superusers included."""

import pytest
from django.contrib.auth.models import User

from events.models import Event
from events.store import NewEvent
from tests.support.log import record_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client):
    user = User.objects.create_superuser("root", "root@example.com", "pw-root-123")
    client.force_login(user)
    record_to("agent:ada", [NewEvent("agent.spawned", {"name": "Ada Lovelace"}, {"actor": "system"})])
    record_to("world:meadow", [NewEvent("world.noted", {"region": "meadow"})])
    return client


def test_list_filters_and_search(operator_client):
    page = operator_client.get("/admin/events/event/?stream__kind=agent")
    assert page.status_code == 200
    assert b"agent:ada" in page.content and b"world:meadow" not in page.content
    page = operator_client.get("/admin/events/event/?type=world.noted")
    assert b"world:meadow" in page.content and b"agent:ada" not in page.content
    page = operator_client.get("/admin/events/stream/?q=meadow")
    assert b"world:meadow" in page.content and b"agent:ada" not in page.content


def test_detail_shows_readable_json_and_no_save_or_delete(operator_client):
    event = Event.objects.get(stream_id="agent:ada")
    page = operator_client.get(f"/admin/events/event/{event.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "&quot;name&quot;: &quot;Ada Lovelace&quot;" in html  # indented JSON in a <pre>
    assert 'name="_save"' not in html and "deletelink" not in html


@pytest.mark.parametrize("url", ["/admin/events/event/add/", "/admin/events/stream/add/"])
def test_add_is_refused(operator_client, url):
    assert operator_client.get(url).status_code == 403


def test_change_and_delete_are_refused(operator_client):
    event = Event.objects.get(stream_id="agent:ada")
    response = operator_client.post(f"/admin/events/event/{event.pk}/change/", {"type": "x.y"})
    assert response.status_code == 403
    response = operator_client.post(f"/admin/events/event/{event.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    response = operator_client.post("/admin/events/event/", {
        "action": "delete_selected", "_selected_action": [event.pk]})
    assert Event.objects.filter(pk=event.pk).get().type == "agent.spawned"


def test_schema_answers(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi" in response.content


@pytest.mark.parametrize("query", ["data__contains=x", "metadata__has_key=actor", "data__name__icontains=ada"])
def test_lookups_into_the_json_columns_are_refused_not_crashed(operator_client, query):
    assert operator_client.get(f"/admin/events/event/?{query}").status_code == 400
