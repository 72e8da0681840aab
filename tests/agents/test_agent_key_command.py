"""`manage.py selfplay_agent_key`: a new key for an agent, alone on the last line, stored hashed."""

import io

import pytest
from django.core.management import CommandError, call_command

from agents.auth import key_digest
from agents.models import AgentKey

pytestmark = pytest.mark.django_db


def test_it_prints_a_new_key_that_authenticates_as_the_agent(region):
    out = io.StringIO()
    call_command("selfplay_agent_key", "ada", stdout=out)

    key = out.getvalue().splitlines()[-1]
    assert key.startswith("spk_")
    row = AgentKey.objects.get(digest=key_digest(key))
    assert (row.agent_id, row.revoked_at) == ("ada", None)
    assert key not in {r.digest for r in AgentKey.objects.all()}  # only its hash is kept

    call_command("selfplay_agent_key", "ada", stdout=io.StringIO())
    assert AgentKey.objects.filter(agent_id="ada").count() == 2


def test_an_unknown_agent_is_refused_and_nothing_is_written(region):
    with pytest.raises(CommandError, match="no such agent: zed"):
        call_command("selfplay_agent_key", "zed", stdout=io.StringIO())
    assert AgentKey.objects.count() == 0
