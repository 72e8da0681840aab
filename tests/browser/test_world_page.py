"""The world page draws the region and follows it live, tick after tick."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import AGENTS, REGION, LiveWorld, Tab, assert_every_position_once, screenshot

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
