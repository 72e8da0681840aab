"""The agent page: its owner overrides it, pauses and resumes it, and sees each command's result."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from events.compact import unpack_id
from selfplay import world as world_rules

from .conftest import (
    OPERATOR,
    OPERATOR_PASSWORD,
    OWNED,
    PLAYER,
    WORLD,
    LiveWorld,
    Tab,
    log_in,
    open_live,
    screenshot,
)

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
    open_live(page, f"/agents/{OWNED}/")
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


def server_chart(world: LiveWorld, agent_id: str, upto_tick: int) -> dict[int, tuple[int, dict]]:
    """Return {tick: (energy, inventory)} of the agent at the end of every tick, from the server's fold."""
    state = world_rules.initial_state("world", "meadow")
    values = {}
    for event in world.events(WORLD):
        state = world_rules.apply_world(state, event)
        if event["type"] == "world.tick.completed" and agent_id in state["agents"]:
            if event["data"]["tick"] > upto_tick:
                break
            agent = state["agents"][agent_id]
            values[event["data"]["tick"]] = (agent["energy"], dict(agent["inventory"]))
    return values


def test_the_chart_draws_the_agents_whole_life_with_labelled_axes(tab: Tab, live_world: LiveWorld):
    page = tab.page
    open_live(page, f"/agents/{OWNED}/")
    page.wait_for_function("window.selfplay.chart().complete")
    # The page started from a checkpoint: everything before it came from the paged outcomes.
    page.wait_for_function("window.selfplay.worldPositions().length > 0")  # the checkpoint may be the head
    start = page.evaluate("window.selfplay.worldPositions()[0]")
    assert start > 1
    # One read of both: a tick that completes between two reads would be in one and not the other.
    chart, shown_tick = page.evaluate("[window.selfplay.chart(), window.selfplay.snapshot().world.tick]")
    server = server_chart(live_world, OWNED, shown_tick)
    drawn = {t: (energy, inventory) for t, energy, inventory in chart["points"] if t <= shown_tick}
    # A point at every tick the agent did something (a paused agent's ticks hold its last values),
    # and each point the agent's energy and inventory in the server's fold at the end of that tick.
    acted = {e["data"]["tick"] for e in live_world.events(WORLD) if e["type"].startswith("agent.action.")
             and e["data"]["agentId"] == OWNED and e["data"]["tick"] <= shown_tick}
    assert acted <= set(drawn) <= set(server)
    assert min(drawn) == min(acted) == min(server)
    assert drawn == {t: server[t] for t in drawn}
    expect(page.locator("#chart-history-status")).to_have_text("its whole life")
    expect(page.locator("#chart-range")).to_contain_text(f"ticks {min(acted)}–")
    # Every decision listed carries its outcome, those from before the page's world checkpoint too
    # (from the same pages of outcomes; the list starts at the agent stream's own checkpoint).
    lines = page.locator("#history li[data-type='agent.action.submitted']").evaluate_all(
        "li => li.map(e => [Number(e.dataset.tick), e.querySelector('.feed-outcome')?.textContent ?? null])")
    older = [(tick, outcome) for tick, outcome in lines if tick < shown_tick]
    assert older and all(outcome for _, outcome in older), older
    assert page.locator("#chart text.chart-title").all_text_contents() == ["tick", "energy"]
    assert page.locator("#chart-inventory text.chart-title").all_text_contents() == ["tick", "carried"]
    tab.assert_no_errors()


def test_the_panel_opens_on_a_valid_action_and_failures_read_as_words_marked_as_overrides(tab: Tab, live_world: LiveWorld):
    page = tab.page
    log_in(page)
    open_live(page, f"/agents/{OWNED}/")
    results = page.locator("#command-results li")
    before = len(agent_events(live_world, "player.override.submitted"))

    # Untouched, the form is a move one step right: accepted.
    expect(page.get_by_label("Action")).to_have_value("move")
    expect(page.get_by_label("Step across")).to_have_value("1")
    expect(page.get_by_label("Step down")).to_have_value("0")
    page.get_by_role("button", name="Send override").click()
    expect(results.first).to_contain_text(APPLIES)
    expect(results.first).not_to_have_class(re.compile(r"\brefused\b"))
    assert agent_events(live_world, "player.override.submitted")[before:][0]["data"]["action"] == {
        "type": "move", "dx": 1, "dy": 0}
    expect(results.first).to_contain_text(re.compile(r"→ tick \d+: (moved to|could not move right: )"))

    # Paused, an override is still carried out at its tick, and fails: in words, not a code.
    page.get_by_role("button", name="Pause").click()
    expect(page.locator("#status")).to_have_text("paused")
    page.get_by_label("Action").select_option("say")
    page.get_by_label("Text").fill("anyone there?")
    page.get_by_role("button", name="Send override").click()
    expect(results.first).to_contain_text(APPLIES)
    applies_at = int(APPLIES.search(results.first.inner_text()).group(1))
    expect(results.first).to_contain_text(f"→ tick {applies_at}: could not say “anyone there?”: the agent was paused")
    expect(results.first).to_have_class(re.compile(r"\bfailed\b"))
    failed = world_event_at(live_world, "agent.action.failed", applies_at)
    (command,) = [e for e in live_world.events(f"agent:{OWNED}") if e["type"] == "player.override.submitted"
                  and e["data"]["appliesAtTick"] == applies_at]
    assert failed["data"]["reason"] == "agent_paused"
    assert failed["metadata"]["causationId"] == unpack_id(live_world.query(
        "SELECT event_id FROM events_event WHERE stream_id = %s AND position = %s", (f"agent:{OWNED}", command["position"]))[0][0])

    # The history marks the override: its decision carries the badge and the outcome in words,
    # and the command's own line gets the outcome it caused.
    decision = page.locator(f"#history li[data-tick='{applies_at}']")
    expect(decision.locator(".badge.override")).to_have_text("override")
    expect(decision.locator(".feed-outcome")).to_have_text("✗ the agent was paused")
    expect(page.locator(f"#history li[data-position='{command['position']}'] .feed-outcome")).to_have_text(
        "✗ the agent was paused")
    expect(page.locator("#last-outcome")).to_have_text(
        f"t{applies_at}: could not say “anyone there?”: the agent was paused (override)")
    page.get_by_role("button", name="Resume").click()
    expect(page.locator("#status")).to_have_text("active")
    screenshot(page, "agent-page-overrides.png")
    tab.assert_no_errors()


def test_an_operator_is_asked_for_a_reason_before_a_pause_is_sent(tab: Tab, live_world: LiveWorld,
                                                                  operator_account):
    page = tab.page
    log_in(page, OPERATOR, OPERATOR_PASSWORD)
    open_live(page, "/agents/frances/")
    page.get_by_role("button", name="Pause").click()
    # The browser asks for the reason, as it does for an override; nothing went to the server.
    assert page.locator("#reason").evaluate("field => field.matches(':invalid')")
    expect(page.locator("#command-results li")).to_have_count(0)
    assert live_world.query("SELECT COUNT(*) FROM events_event WHERE actor = %s", (f"operator:{OPERATOR}",)) == [(0,)]
    tab.assert_no_errors()


def test_a_use_override_of_a_capability_not_granted_reads_as_failed(tab: Tab, live_world: LiveWorld):
    """The world lets a `use` through; the capability then fails (ada is granted none): the
    panel says the override failed, and why."""
    page = tab.page
    log_in(page)
    open_live(page, f"/agents/{OWNED}/")
    page.get_by_label("Action").select_option("use")
    page.get_by_label("Capability", exact=True).fill("hash")
    page.get_by_label("Arguments (JSON)").fill('{"blob": "hi"}')
    page.get_by_role("button", name="Send override").click()
    result = page.locator("#command-results li").first
    expect(result).to_contain_text(re.compile(r"→ tick \d+: .*, but hash failed: not_granted"), timeout=30_000)
    expect(result).to_have_class(re.compile(r"\bfailed\b"))
    tab.assert_no_errors()
