"""The HTML pages and /local/'s files answer GET and HEAD; any other method is 405."""

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from tests.agents.worlds import make_region

pytestmark = pytest.mark.django_db

PAGES = ["/", "/world/vale/", "/agents/ada/", "/my/agents/", "/local/", "/local/worker.js", "/local/core.zip",
         "/local/sw.js"]


@pytest.fixture
def player(client, settings):
    settings.SELFPLAY_PUBLISH_EVENTS = False
    make_region("vale", epoch=timezone.now(), agents={"ada": "builder"})
    client.force_login(User.objects.create_user("alice", password="pw-alice-123"))
    return client


@pytest.mark.parametrize("path", PAGES)
def test_get_and_head_answer_and_nothing_else_does(player, path):
    assert player.get(path).status_code == 200
    assert player.head(path).status_code == 200
    for method in ("TRACE", "OPTIONS", "PUT", "DELETE", "PATCH"):
        response = player.generic(method, path)
        assert response.status_code == 405, (method, response.status_code)
        assert set(response["Allow"].split(", ")) == {"GET", "HEAD"}
