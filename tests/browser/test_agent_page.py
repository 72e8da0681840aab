"""The agent page: its owner overrides it, pauses and resumes it, and sees each command's result."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import OWNED, PLAYER, WORLD, LiveWorld, Tab, log_in, screenshot

pytestmark = pytest.mark.e2e

APPLIES = re.compile(r"accepted, applies at tick (\d+)")


def agent_events(world: LiveWorld, kind: str) -> list[dict]:
    return [e for e in world.events(f"agent:{OWNED}") if e["type"] == kind]


def world_event_at(world: LiveWorld, kind: str, tick: int) -> dict:
    found = [e for e in world.events(WORLD) if e["type"] == kind and e["data"].get("tick") == tick
             and e["data"].get("agentId", OWNED) == OWNED]
    assert len(found) == 1, (kind, tick, found)
    return found[0]


def test_an_override_from_the_page_is_logged_with_the_player_and_applies_at_the_next_tick(tab: Tab, live_world: LiveWorld):
    page = tab.page
    log_in(page)
    page.goto(f"/agents/{OWNED}/")
    expect(page.locator("#conn")).to_have_attribute("data-phase", "live")
    expect(page.locator("#history li").first).to_be_visible()
    results = page.locator("#command-results li")

    # A move nowhere passes the form but not the rules: the refusal is shown, nothing is logged.
    page.get_by_label("Action").select_option("move")
    page.get_by_label("Step across").select_option("0")
    page.get_by_label("Step down").select_option("0")
    page.get_by_role("button", name="Send override").click()
    expect(results.first).to_have_class(re.compile(r"\brefused\b"))
    expect(results.first).to_contain_text("refused (400 invalid): Invalid action: action: dx and dy cannot both be 0")
    assert agent_events(live_world, "player.override.submitted") == []

    # A real override: accepted for the next tick, then carried out at exactly that tick.
    text = "Hello from the browser test"
    page.get_by_label("Action").select_option("say")
    page.get_by_label("Text").fill(text)
    page.get_by_label("Reason").fill("checking overrides")
    page.get_by_role("button", name="Send override").click()
    expect(results.first).to_contain_text(APPLIES)
    applies_at = int(APPLIES.search(results.first.inner_text()).group(1))
    expect(results.first).to_contain_text(f"→ tick {applies_at}: said “{text}”")
    expect(results.first).to_have_class(re.compile(r"\bapplied\b"))

    (override,) = agent_events(live_world, "player.override.submitted")
    assert override["metadata"]["actor"] == f"player:{PLAYER}"
    assert override["data"] == {"agentId": OWNED, "region": "meadow", "appliesAtTick": applies_at,
                                "action": {"type": "say", "text": text}, "reason": "checking overrides"}
    decided = [e for e in agent_events(live_world, "agent.action.submitted") if e["data"]["tick"] == applies_at]
    assert [(e["data"]["source"], e["data"]["action"]) for e in decided] == [("override", {"type": "say", "text": text})]
    outcome = world_event_at(live_world, "agent.action.succeeded", applies_at)
    assert outcome["data"]["effects"]["said"] == text
    # "The next tick": the override was recorded after tick N-1 completed and before tick N did.
    before = world_event_at(live_world, "world.tick.completed", applies_at - 1)
    after = world_event_at(live_world, "world.tick.completed", applies_at)
    assert before["globalPosition"] < override["globalPosition"] < after["globalPosition"]

    history = page.locator("#history li")
    expect(history.filter(has_text=f"Override by player:{PLAYER}: say “{text}” at tick {applies_at} — checking overrides")).to_have_count(1)
    expect(history.filter(has_text=f"Decided to say “{text}” (override)")).to_have_count(1)

    # Pause, then resume: each is logged with the player as actor and shows on the page.
    page.get_by_role("button", name="Pause").click()
    expect(results.first).to_contain_text(re.compile(r"Pause — accepted, applies at tick \d+"))
    expect(page.locator("#status")).to_have_text("paused")
    expect(results.first).to_contain_text(re.compile(r"→ tick \d+: paused$"))
    expect(results.first).to_have_class(re.compile(r"\bapplied\b"))
    page.get_by_role("button", name="Resume").click()
    expect(results.first).to_contain_text(re.compile(r"Resume — accepted, applies at tick \d+"))
    expect(page.locator("#status")).to_have_text("active")
    expect(results.first).to_contain_text(re.compile(r"→ tick \d+: resumed$"))
    expect(results.first).to_have_class(re.compile(r"\bapplied\b"))
    assert [(e["type"], e["metadata"]["actor"]) for e in live_world.events(f"agent:{OWNED}")
            if e["type"] in ("agent.paused", "agent.resumed")] == [
        ("agent.paused", f"player:{PLAYER}"), ("agent.resumed", f"player:{PLAYER}")]

    # The page's agent state is the server's fold of the same events.
    snapshot = page.evaluate("window.selfplay.snapshot()")
    assert snapshot["state"] == live_world.agent_stream_state_at(OWNED, snapshot["position"])
    assert snapshot["world"] == live_world.world_state_at(snapshot["worldPosition"])
    expect(page.locator("#chart path[data-series=energy]")).to_have_count(1)

    screenshot(page, "agent-page.png")
    tab.assert_no_errors()
    live_world.assert_healthy()
