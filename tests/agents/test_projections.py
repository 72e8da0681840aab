"""Live projections equal a rebuild from zero; `rebuild_projections` verifies and repairs them."""

import pytest
from django.core.management.base import CommandError

from agents.services import plan_region, tick_region
from checkpoints.services import CHECKPOINT_STREAM
from events.models import Event, Projection
from events.projections import rebuild_in_memory, registry
from selfplay.canonical import checksum

from .worlds import at, projection_keys, run_command

pytestmark = pytest.mark.django_db

AGENTS = ["ada", "bob", "cy", "dee"]


@pytest.fixture
def lived_in(region):
    """Vale after planning, downtime and eleven simulated ticks."""
    tick_region(region_id="vale", now=at(region, 3))
    plan_region(region_id="vale")
    tick_region(region_id="vale", now=at(region, 12), max_catchup=4)  # skips 4..8
    plan_region(region_id="vale")
    tick_region(region_id="vale", now=at(region, 15))
    return region


def live() -> dict:
    return {(p.name, p.key): p for p in Projection.objects.all()}


def test_live_projections_equal_a_rebuild_from_zero(lived_in):
    rebuilt = rebuild_in_memory()
    rows = live()
    keys = sorted(projection_keys())

    # The region's world, agents and leaderboard; each agent stream's `agent`; the checkpoint
    # log's generic `stream`. No playerhood signals were published, so `playerhood` has no key.
    assert keys == sorted([("world", "vale"), ("agents", "vale"), ("leaderboard", "vale"),
                           *(("agent_stream", a) for a in AGENTS), ("stream", CHECKPOINT_STREAM)])
    assert sorted(rows) == keys
    assert sorted(rebuilt.states) == keys
    assert rebuilt.events == Event.objects.count()
    for key in keys:
        assert rows[key].checksum == checksum(rebuilt.states[key])
        assert rows[key].state == rebuilt.states[key]
        assert rows[key].global_position == rebuilt.positions[key]
    assert rows[("world", "vale")].state["tick"] == 15


def test_verify_detects_a_tampered_projection_and_a_rebuild_repairs_it(lived_in):
    events = Event.objects.count()
    keys = len(projection_keys())
    code, out, err = run_command("rebuild_projections", "--verify", "--no-progress")
    assert (code, err) == (0, "")
    assert out == f"ok: {keys} projection keys match a rebuild from {events} events\n"

    honest = Projection.objects.get(name="leaderboard", key="vale")
    forged = {"entries": [{**e, "score": e["score"] + 100} for e in honest.state["entries"]]}
    Projection.objects.filter(name="leaderboard", key="vale").update(state=forged, checksum=checksum(forged))

    code, _, err = run_command("rebuild_projections", "--verify", "--no-progress")
    assert code == 1
    assert err == f"checksum mismatch: leaderboard[vale]: live {checksum(forged)}, rebuilt {honest.checksum}\n"
    assert Projection.objects.get(name="leaderboard", key="vale").state == forged  # --verify writes nothing

    code, out, _ = run_command("rebuild_projections", "--no-progress")
    assert code == 0
    assert out == f"rebuilt {keys} projection keys ({', '.join(registry())}) from {events} events\n"
    repaired = Projection.objects.get(name="leaderboard", key="vale")
    assert (repaired.state, repaired.checksum) == (honest.state, honest.checksum)
    assert run_command("rebuild_projections", "--verify", "--no-progress")[0] == 0


def test_the_world_goes_on_after_a_rebuild(lived_in):
    run_command("rebuild_projections", "--no-progress")

    assert tick_region(region_id="vale", now=at(lived_in, 17)).ticks == [16, 17]

    assert run_command("rebuild_projections", "--verify", "--no-progress")[0] == 0
    assert live()[("world", "vale")].state["tick"] == 17


def test_a_missing_projection_row_is_a_mismatch(lived_in):
    world = Projection.objects.get(name="world", key="vale")
    Projection.objects.filter(name="world", key="vale").delete()
    code, _, err = run_command("rebuild_projections", "--verify", "--no-progress")
    assert code == 1
    assert err == f"checksum mismatch: world[vale]: live missing, rebuilt {world.checksum}\n"


def test_rebuilding_one_projection_leaves_the_others_alone(lived_in):
    forged = {"agents": {}}
    Projection.objects.filter(name="agents", key="vale").update(state=forged, checksum=checksum(forged))
    code, out, _ = run_command("rebuild_projections", "world", "leaderboard", "--no-progress")
    assert code == 0
    assert out.startswith("rebuilt 2 projection keys (world, leaderboard) from ")
    assert Projection.objects.get(name="agents", key="vale").state == forged


def test_a_projection_named_twice_is_rebuilt_and_verified_once(lived_in):
    before = Projection.objects.get(name="world", key="vale").checksum
    code, out, _ = run_command("rebuild_projections", "world", "world", "--no-progress")
    assert code == 0
    assert out.startswith("rebuilt 1 projection keys (world) from ")
    assert Projection.objects.get(name="world", key="vale").checksum == before  # folded once, as live
    assert run_command("rebuild_projections", "--verify", "agents", "leaderboard", "agents", "--no-progress")[0] == 0
    assert run_command("rebuild_projections", "--verify", "--no-progress")[0] == 0


def test_an_unknown_projection_is_refused():
    with pytest.raises(CommandError, match="unknown projection 'weather'"):
        run_command("rebuild_projections", "weather", "--no-progress")
