"""The world page draws the region and follows it live, tick after tick."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from selfplay.web.pages import rules_config

from .conftest import (
    AGENTS,
    OWNED,
    REGION,
    WORLD,
    LiveWorld,
    Tab,
    assert_every_position_once,
    log_in,
    screenshot,
)

pytestmark = pytest.mark.e2e

CANVAS_COLOURS = """() => {
  const canvas = document.getElementById("map");
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const colours = new Set();
  for (let i = 0; i < data.length; i += 16) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  return {width: canvas.width, height: canvas.height, colours: colours.size, image: canvas.toDataURL()};
}"""


# The tick on display is the tick of the page's state (it is drawn on the next animation frame).
TICK_SHOWN = "document.getElementById('tick').textContent === String(window.selfplay.snapshot().state.tick)"


def wait_live(tab: Tab) -> None:
    expect(tab.page.locator("#conn")).to_have_attribute("data-phase", "live")


def test_the_map_renders_and_moves_with_live_ticks(tab: Tab, live_world: LiveWorld):
    page = tab.page
    page.goto(f"/world/{REGION}/")
    wait_live(tab)
    expect(page.locator("#agents tr")).to_have_count(AGENTS)
    names = sorted(page.locator("#agents tr td:first-child a").all_inner_texts())
    assert names == sorted(n for (n,) in live_world.query("SELECT name FROM agents_agent WHERE region_id = %s",
                                                          (REGION,)))

    before = page.evaluate("window.selfplay.snapshot()")
    first_canvas = page.evaluate(CANVAS_COLOURS)
    # 48 × 32 tiles of at least 6 px; terrain kinds, berries, agents: many colours, not a blank canvas.
    assert first_canvas["width"] >= 48 * 6 and first_canvas["height"] >= 32 * 6
    assert first_canvas["colours"] >= 8

    # Three more ticks arrive live: the tick number follows and agents move on the map.
    tick = before["state"]["tick"]
    page.wait_for_function(TICK_SHOWN)
    page.wait_for_function(f"window.selfplay.snapshot().state.tick >= {tick + 3}")
    after = page.evaluate("window.selfplay.snapshot()")
    moved = [a for a, agent in after["state"]["agents"].items()
             if (agent["x"], agent["y"]) != (before["state"]["agents"][a]["x"], before["state"]["agents"][a]["y"])]
    assert moved, "no agent moved in three ticks"
    assert page.evaluate(CANVAS_COLOURS)["image"] != first_canvas["image"]
    page.wait_for_function(TICK_SHOWN)
    assert after["state"]["tick"] <= live_world.tick()

    # The page's state is the server's fold of the same events, each applied once, and the feed
    # lists them without a gap.
    assert after["state"] == live_world.world_state_at(after["position"])
    assert_every_position_once(tab, live_world, first=page.evaluate("window.selfplay.positions()[0]"))

    # The cadence sparkline has a line, and says how regular the ticks are.
    assert page.locator("#cadence polyline").count() == 1
    expect(page.locator("#cadence-text")).to_contain_text("target 1 s")

    screenshot(page, "world-page.png")
    tab.assert_no_errors()
    live_world.assert_healthy()


def test_names_on_hover_follow_on_click_and_a_legend_from_the_rules(tab: Tab, live_world: LiveWorld):
    page = tab.page
    log_in(page)
    # A past tick holds still, so the pointer finds each agent where the page draws it.
    tick = max(2, live_world.tick() - 2)
    page.goto(f"/world/{REGION}/?tick={tick}")
    page.wait_for_function(f"window.selfplay.past()?.tick === {tick}")
    state = page.evaluate("window.selfplay.past().state")
    agent = state["agents"][OWNED]
    page.wait_for_function("window.selfplay.map.tile > 0")
    tile = page.evaluate("window.selfplay.map.tile")
    box = page.locator("#map").bounding_box()
    centre = (box["x"] + (agent["x"] + 0.5) * tile, box["y"] + (agent["y"] + 0.5) * tile)

    # Hover: the agent's name and numbers; a tile without an agent says what it is.
    page.mouse.move(*centre)
    tip = page.locator(".map-tip")
    expect(tip).to_be_visible()
    expect(tip.locator("strong")).to_have_text(agent["name"])
    expect(tip).to_contain_text(f"{agent['brain']} · energy {agent['energy']} · score {agent['score']}")
    expect(tip).to_contain_text("yours")
    water = state["tiles"]["terrain"].index("~")
    wx, wy = water % state["width"], water // state["width"]
    page.mouse.move(box["x"] + (wx + 0.5) * tile, box["y"] + (wy + 0.5) * tile)
    expect(tip.locator("strong")).to_have_text(f"water (impassable) ({wx}, {wy})")

    # Click: follow it — its row is marked, the feed shows only its lines; click again to stop.
    page.mouse.click(*centre)
    assert page.evaluate("window.selfplay.following()") == OWNED
    expect(page.locator(f"#agents tr[data-agent={OWNED}]")).to_have_class(re.compile(r"\bfollowed\b"))
    expect(page.locator("#following")).to_contain_text(f"Following {agent['name']}")
    of_the_tick = [e for e in live_world.events(WORLD) if e["position"] in page.evaluate("window.selfplay.past().events")]
    about = [e for e in of_the_tick if OWNED in (e["data"].get("agentId"), e["data"].get("effects", {}).get("transfer", {}).get("to"))]
    assert len(about) < len(of_the_tick)
    shown = page.locator("#past-feed li:visible")
    expect(shown).to_have_count(len(about))
    assert all(OWNED in line.split() for line in shown.evaluate_all("li => li.map(e => e.dataset.agents)"))
    screenshot(page, "world-page-following.png")
    page.mouse.click(*centre)
    assert page.evaluate("window.selfplay.following()") is None
    expect(page.locator("#following")).to_be_hidden()
    # Every line shows again, once the page has drawn its next frame.
    lines = page.locator("#past-feed li").count()
    assert lines > 1
    expect(page.locator("#past-feed li:visible")).to_have_count(lines)
    # …or Escape.
    page.mouse.click(*centre)
    assert page.evaluate("window.selfplay.following()") == OWNED
    page.keyboard.press("Escape")
    assert page.evaluate("window.selfplay.following()") is None

    # The legend: terrain as the rules name it, and the gold ring of this player's own agent.
    legend = page.locator("#map-legend li")
    labels = legend.all_inner_texts()
    assert labels[:5] == [t["label"] for t in rules_config()["terrain"]]
    assert "your agent" in labels
    tab.assert_no_errors()


def test_the_legend_has_no_ring_of_ownership_for_a_visitor_and_the_page_has_a_favicon(tab: Tab, live_world: LiveWorld):
    page = tab.page
    page.goto(f"/world/{REGION}/")
    wait_live(tab)
    assert "your agent" not in page.locator("#map-legend li").all_inner_texts()
    icon = page.locator("link[rel=icon]").get_attribute("href")
    response = page.request.get(icon)
    assert (response.status, response.headers["content-type"]) == (200, "image/svg+xml")
    assert response.text().startswith("<svg")
    tab.assert_no_errors()
