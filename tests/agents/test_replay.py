"""`verify_replay`: rebuilds twice and re-evaluates every recorded tick; exit 1 names the first
divergence by region and tick."""

import json

import pytest

from agents.services import tick_region
from events.models import Event
from selfplay.canonical import canonical_json
from tests.support.tamper import tamper

from .worlds import at, projection_keys, run_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def four_ticks(region):
    tick_region(region_id="vale", now=at(region, 4))
    return region


def outcome_row(agent_id: str, tick: int) -> Event:
    return next(e for e in Event.objects.filter(stream_id="world:vale", type__startswith="agent.action.")
                if e.data["agentId"] == agent_id and e.data["tick"] == tick)


def region_keys(region_id: str) -> set[tuple[str, str]]:
    return {("world", region_id), ("agents", region_id), ("leaderboard", region_id)}


def agent_keys(*agent_ids: str) -> set[tuple[str, str]]:
    return {("agent_stream", agent_id) for agent_id in agent_ids}


def rewrite_data(row: Event, data: dict) -> None:
    tamper("UPDATE events_event SET data = %s WHERE global_position = %s",
           [canonical_json(data), row.global_position])


def test_an_honest_log_replays_without_divergence(four_ticks):
    events = Event.objects.count()
    keys = projection_keys()
    # Vale's world, agents and leaderboard, an `agent` per agent, and the checkpoint log's `stream`.
    assert keys == {*region_keys("vale"), *agent_keys("ada", "bob", "cy", "dee"),
                    ("stream", "system:checkpoints")}
    code, out, err = run_command("verify_replay", "--no-progress")
    assert (code, err) == (0, "")
    assert out == (f"ok: {len(keys)} projection keys rebuilt twice identically; 4 ticks re-evaluated from "
                   f"{events} events, no divergence\n")


def test_skipped_ticks_and_overrides_replay_too(region):
    from agents.models import PendingCommand

    tick_region(region_id="vale", now=at(region, 2))
    PendingCommand.objects.create(agent_id="ada", applies_at_tick=9, source="override",
                                  action={"type": "rest"}, actor="player:alice",
                                  event_id="5e4b7c4a-52d4-4b8e-9d65-7d0c6b1a0005")
    tick_region(region_id="vale", now=at(region, 10), max_catchup=2)
    code, out, _ = run_command("verify_replay", "--no-progress")
    assert code == 0
    assert "4 ticks re-evaluated" in out


def test_a_tampered_outcome_is_named_by_region_and_tick(four_ticks):
    row = outcome_row("ada", 2)
    recorded = dict(row.data)
    forged = {**recorded, "action": {"type": "say", "text": "I never did that"}}
    rewrite_data(row, forged)

    code, out, err = run_command("verify_replay", "--no-progress")

    assert code == 1
    assert out == ""
    assert err.startswith("divergence: region vale tick 2: agent ada: ")
    assert f"recorded {row.type} {canonical_json(forged)}" in err
    assert f"re-evaluated {row.type} {canonical_json(recorded)}" in err


def test_a_tampered_decision_is_named_by_region_and_tick(four_ticks):
    row = next(e for e in Event.objects.filter(stream_id="agent:ada", type="agent.action.submitted")
               if e.data["tick"] == 3)
    rewrite_data(row, {**row.data, "action": {"type": "say", "text": "tampered"}})

    code, _, err = run_command("verify_replay", "--no-progress")

    assert code == 1
    assert err.startswith("divergence: region vale tick 3: agent ada: recorded ")
    assert 're-evaluated agent.action.succeeded {"action":{"text":"tampered","type":"say"}' in err


def test_a_tampered_effect_shows_as_a_projection_divergence(four_ticks):
    # Score effects add up, so a forged one changes every later state: the live projections
    # (folded from the honest events) no longer match a rebuild from the forged log.
    row = outcome_row("bob", 1)
    effects = {**row.data["effects"], "score": row.data["effects"].get("score", 0) + 50}
    rewrite_data(row, {**row.data, "effects": effects})

    code, _, err = run_command("verify_replay", "--no-progress")

    assert code == 1
    assert err.startswith("divergence: live projection differs from a rebuild: agents[vale]: live ")


def test_canonical_json_matches_what_tamper_writes(four_ticks):
    # Guard for the helpers above: rewriting a row with its own data changes nothing.
    row = outcome_row("cy", 1)
    rewrite_data(row, json.loads(canonical_json(row.data)))
    assert run_command("verify_replay", "--no-progress")[0] == 0


def test_two_regions_replay_side_by_side(region, epoch):
    from .worlds import make_region

    make_region("hill", epoch=epoch, seed=99, agents={"eve": "forager", "fin": "wanderer"})
    for k in (1, 2, 3):
        tick_region(region_id="hill", now=at(region, k))
        tick_region(region_id="vale", now=at(region, k))

    code, out, _ = run_command("verify_replay", "--no-progress")
    assert code == 0
    keys = projection_keys()
    # Each region's three projections, an `agent` per agent of both, and the checkpoint log's `stream`.
    assert keys == {*region_keys("vale"), *region_keys("hill"),
                    *agent_keys("ada", "bob", "cy", "dee", "eve", "fin"), ("stream", "system:checkpoints")}
    assert out == (f"ok: {len(keys)} projection keys rebuilt twice identically; 6 ticks re-evaluated from "
                   f"{Event.objects.count()} events, no divergence\n")
