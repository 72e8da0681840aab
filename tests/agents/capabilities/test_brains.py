"""The demo brains: a scribe journals through hash, store and notify; a reader plans through
read_public, as a language-model planner behind an HTTP endpoint would."""

import json

import pytest

from agents.brains.reader import Reader
from agents.capabilities.services import grant_capabilities
from agents.models import Agent, Notification
from agents.services import tick_region

from ..worlds import at, events_of, make_region, run_command
from .helpers import capability_events, perform_pending
from .loopback import loopback

pytestmark = pytest.mark.django_db


def test_a_scribe_hashes_stores_then_notifies_from_its_own_results(epoch, budget):
    region = make_region("desk", epoch=epoch, agents={"sam": "scribe"})
    grant_capabilities(agent_id="sam", grants=["hash", "notify", "store"], actor="system")
    for tick in range(1, 21):
        tick_region(region_id="desk", now=at(region, tick))
        perform_pending()
    requested = [(e.data["tick"], e.data["capability"]) for e in capability_events("capability.requested")]
    assert requested == [(5, "hash"), (10, "store"), (15, "notify"), (20, "hash")]
    completed = capability_events("capability.completed")
    assert [e.data["tick"] for e in completed] == [5, 10, 15, 20]
    results = {e.data["capability"]: e.data["result"] for e in completed[:3]}
    hashed, stored = [e.data["args"]["blob"] for e in events_of("agent:sam", "capability.requested")[:2]]
    assert stored == f"{hashed} sha256={results['hash']['sha256']}"
    note = Notification.objects.get()
    assert note.message == f"Sam kept a journal line as blob {results['store']['blobHash'][:12]} at tick 15"
    assert results["notify"] == {"notificationId": note.id}


class LocalReader(Reader):
    planner_url = "set by the test"


def test_a_reader_follows_the_advice_its_planner_answers_through_read_public(epoch, budget, settings):
    def advise(seen):
        return 200, {"Content-Type": "application/json"}, json.dumps({"type": "say", "text": "advice heard"}).encode()
    with loopback({"/plan": advise}) as planner:
        LocalReader.planner_url = planner.url("/plan")
        settings.SELFPLAY_BRAINS = {**settings.SELFPLAY_BRAINS, "local-reader": f"{__name__}.LocalReader"}
        settings.SELFPLAY_READ_PUBLIC_HOSTS = [f"127.0.0.1:{planner.port}"]
        region = make_region("study", epoch=epoch, agents={"rae": "local-reader"})
        grant_capabilities(agent_id="rae", grants=["read_public"], actor="system")
        for tick in range(1, 7):
            tick_region(region_id="study", now=at(region, tick))
            perform_pending()
        asked = [s.path for s in planner.seen]
    [first] = [e.data for e in events_of("agent:rae", "capability.requested") if e.data["tick"] == 4]
    assert first["args"]["url"].startswith(planner.url("/plan?agent=rae&x="))
    assert asked and asked[0] == first["args"]["url"].removeprefix(f"http://127.0.0.1:{planner.port}")
    actions = {e.data["tick"]: e.data["action"] for e in events_of("agent:rae", "agent.action.submitted")}
    assert actions[4]["type"] == "use"
    assert actions[5] == actions[6] == {"type": "say", "text": "advice heard"}


def test_the_demo_world_gets_scribes_granted_hash_store_and_notify(db):
    code, out, _ = run_command("selfplay_demo", "--agents", "4", "--scribes", "2")
    # (the capability tests' own brains are installed too, and take their turn in the round-robin)
    assert code == 0 and out.endswith(
        "6 agents (6 new) across brains asker, builder, forager, hasher, trader, wanderer, and 2 new scribes\n")
    scribes = Agent.objects.filter(brain="scribe").order_by("id")
    assert [(a.id, a.capability_grants) for a in scribes] == [
        ("scribe-1", ["hash", "notify", "store"]), ("scribe-2", ["hash", "notify", "store"])]
    assert [e.data["grants"] for e in events_of("agent:scribe-1", "agent.capabilities.granted")] == [
        ["hash", "notify", "store"]]
    code, out, _ = run_command("selfplay_demo", "--agents", "4", "--scribes", "2")
    assert out.endswith("6 agents (0 new) across brains asker, builder, forager, hasher, trader, wanderer\n")
