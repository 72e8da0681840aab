"""Time travel in real Chromium: a past tick rebuilt in the browser from a checkpoint and the
events after it (or from the stream's start) equals what the live page showed at that tick, the
server's fold and the checksum the tick recorded; play, pause, the scrubber and `?tick=N`."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from .conftest import OWNED, REGION, WORLD, LiveWorld, Tab, fulfil_error, open_live, screenshot

pytestmark = pytest.mark.e2e

PAST = "window.selfplay.past()"


def record_live_ticks(page: Page, count: int) -> list[dict]:
    """Return the live page's own state at `count` consecutive tick completions, as it showed them."""
    page.evaluate("window.selfplay.recordTicks(20)")
    page.wait_for_function(f"window.selfplay.recorded().length >= {count}", timeout=30_000)
    return page.evaluate(f"window.selfplay.recorded().slice(0, {count})")


# Replaying the world stream from its start reads the whole session's log (several minutes of
# ticks by the time these tests run), which takes longer than a checkpoint's tail on a busy machine.
REPLAY_FROM_START_MS = 90_000


def assert_replayed_from_start(past: dict, live_world: LiveWorld) -> None:
    """The page rebuilt the tick from the stream's first event, to the server's fold, verified."""
    assert past["checkpoint"] is None and past["replayed"] == past["position"]
    assert past["state"] == live_world.world_state_at(past["position"])
    assert past["verified"] is True


def wait_past(page: Page, tick: int, timeout_ms: int = 30_000) -> dict:
    page.wait_for_function(f"{PAST}?.tick === {tick}", timeout=timeout_ms)
    return page.evaluate(PAST)


def checkpoints_upto(world: LiveWorld, position: int) -> dict[str, int]:
    return {str(i): p for i, p in world.query("SELECT id, position FROM checkpoints_checkpoint "
                                               "WHERE stream_id = %s AND position <= %s", (WORLD, position))}


def assert_rebuilt_from_its_checkpoint(world: LiveWorld, past: dict) -> None:
    """The rebuild started at a checkpoint at or before the previous tick's end (so that the tick's
    own events are at hand for the feed) and replayed the events after it; if that checkpoint is
    still kept, it is the newest one there."""
    checkpoint = past["checkpoint"]
    previous_end = past["events"][0] - 1
    assert checkpoint is not None and checkpoint["position"] <= previous_end
    assert past["replayed"] == past["position"] - checkpoint["position"]
    kept = checkpoints_upto(world, previous_end)
    if checkpoint["id"].replace("-", "") in {i.replace("-", "") for i in kept}:
        assert checkpoint["position"] == max(kept.values())


def test_a_past_tick_rebuilt_in_the_browser_is_what_the_live_page_showed_then(tab: Tab, browser, live_world: LiveWorld):
    live = tab.page
    open_live(live, f"/world/{REGION}/")
    shown = record_live_ticks(live, 3)
    for moment in shown:
        assert moment["state"]["tick"] == moment["tick"]
        assert moment["state"] == live_world.world_state_at(moment["position"])
    then = shown[1]

    # Another tab opens the link of that tick: the world as the live page showed it then.
    other = browser.new_context(base_url=live_world.url, viewport={"width": 1440, "height": 1000})
    try:
        page = other.new_page()
        uncaught: list[str] = []
        page.on("pageerror", lambda error: uncaught.append(str(error)))
        page.goto(f"/world/{REGION}/?tick={then['tick']}")
        past = wait_past(page, then["tick"])
        assert past["position"] == then["position"]
        assert past["state"] == then["state"]
        assert past["state"] == live_world.world_state_at(then["position"])
        assert (past["verified"], past["checksum"]) == (True, then["checksum"])
        assert_rebuilt_from_its_checkpoint(live_world, past)
        timeline = page.locator("#timeline")
        expect(timeline).to_have_attribute("data-mode", "past")
        expect(page.locator("#tt-tick")).to_have_text(f"tick {then['tick']}")
        expect(page.locator("#tick")).to_have_text(str(then["tick"]))
        expect(page.locator("#tt-status")).to_contain_text("✓ same checksum as the daemon recorded")
        assert page.locator("#tt-range").input_value() == str(then["tick"])
        # The feed lists that tick's events, ending with its completion.
        feed = page.locator("#past-feed li")
        expect(feed.first).to_have_attribute("data-type", "world.tick.completed")
        expect(feed.first).to_have_attribute("data-position", str(then["position"]))
        assert past["events"] == list(range(past["events"][0], then["position"] + 1))
        before = live_world.events(WORLD, upto=past["events"][0] - 1)[-1]
        assert (before["type"], before["data"]["tick"]) == ("world.tick.completed", then["tick"] - 1)

        # The scrubber: six steps back with the keyboard shows that tick (only the last one asked
        # for is rebuilt once the keys stop).
        page.locator("#tt-range").focus()
        for _ in range(6):
            page.keyboard.press("ArrowLeft")
        back = wait_past(page, then["tick"] - 6)
        assert back["state"] == live_world.world_state_at(back["position"])
        assert urlparse(page.url).query == f"tick={back['tick']}"

        # Play at 2×: the page steps tick by tick, each rebuilt state the server's fold there.
        page.locator("#tt-speed").select_option("2")
        page.get_by_role("button", name="Play").click()
        page.wait_for_function(f"{PAST}?.tick >= {back['tick'] + 2}", timeout=30_000)
        page.get_by_role("button", name="Pause").click()
        played = page.evaluate(PAST)
        assert played["tick"] >= back["tick"] + 2
        assert played["state"] == live_world.world_state_at(played["position"])
        assert played["verified"] is True
        assert parse_qs(urlparse(page.url).query)["tick"] == [str(played["tick"])]
        screenshot(page, "world-page-time-travel.png")

        # Back to live: the live world again, and a URL without a tick.
        page.get_by_role("button", name="Live").click()
        expect(timeline).to_have_attribute("data-mode", "live")
        assert "tick=" not in page.url
        page.wait_for_function("document.getElementById('tick').textContent === "
                               "String(window.selfplay.snapshot().state.tick)")
        assert page.evaluate("window.selfplay.errors()") == [] and uncaught == []
    finally:
        other.close()
    tab.assert_no_errors()


def test_without_a_checkpoint_that_old_the_page_replays_the_stream_from_its_start(tab: Tab, live_world: LiveWorld):
    page = tab.page
    asked: list[str] = []

    def refuse(route):
        asked.append(route.request.url)
        fulfil_error(route, 404, "no_checkpoint", "none kept that old", {"streamId": WORLD})

    page.route(re.compile(r"/checkpoint/at\?"), refuse)
    tick = max(2, live_world.tick() - 3)
    page.goto(f"/world/{REGION}/?tick={tick}")
    past = wait_past(page, tick, REPLAY_FROM_START_MS)
    assert asked, "the page asked for a checkpoint at the tick"
    assert_replayed_from_start(past, live_world)
    expect(page.locator("#tt-status")).to_contain_text("replayed from the start")
    tab.assert_no_errors()


def test_a_checkpoint_pruned_after_it_was_named_falls_back_to_replaying_from_the_start(tab: Tab, live_world: LiveWorld):
    page = tab.page
    named: list[str] = []

    def remember(route):
        response = route.fetch()
        named.append(response.json()["token"])
        route.fulfill(response=response)

    refused: set[str] = set()

    def refuse_named(route):
        # Once per token: when the newest checkpoint is the one named, /checkpoint/latest hands
        # the page the very same token for its replay from the start, and that read must pass.
        token = parse_qs(urlparse(route.request.url).query)["token"][0]
        if token in named and token not in refused:
            refused.add(token)
            fulfil_error(route, 400, "token_invalid", "The token names a checkpoint that no longer exists.",
                         {"reason": "unknown_checkpoint"})
        else:
            route.continue_()

    page.route(re.compile(r"/checkpoint/at\?"), remember)
    page.route(re.compile(r"/sync\?"), refuse_named)
    tick = max(2, live_world.tick() - 3)
    page.goto(f"/world/{REGION}/?tick={tick}")
    past = wait_past(page, tick, REPLAY_FROM_START_MS)
    assert named, "the page asked for the checkpoint at the tick"
    assert_replayed_from_start(past, live_world)
    tab.assert_no_errors()


@pytest.mark.parametrize("tick", ["99999999", "0"])
def test_a_tick_that_was_never_recorded_says_so_and_the_page_stays_live(tab: Tab, live_world: LiveWorld, tick: str):
    page = tab.page
    page.goto(f"/world/{REGION}/?tick={tick}")
    expect(page.locator("#tt-status")).to_contain_text(f"Tick {tick} could not be rebuilt: Region meadow has no tick {tick}")
    expect(page.locator("#tt-status")).to_have_attribute("data-tone", "error")
    assert page.evaluate(PAST) is None
    # Live, as if the link had named no tick: the bar, its label and the URL say so.
    expect(page.locator("#tt-live")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#tt-tick")).to_have_text(re.compile(r"^tick [1-9]\d*$"))
    assert "tick" not in parse_qs(urlparse(page.url).query)
    tab.assert_no_errors()


def test_a_tick_parameter_that_is_no_tick_leaves_the_url(tab: Tab, live_world: LiveWorld):
    page = tab.page
    page.goto(f"/world/{REGION}/?tick=-1")
    expect(page.locator("#tt-tick")).to_have_text(re.compile(r"^tick [1-9]\d*$"))
    page.wait_for_function("!new URLSearchParams(location.search).has('tick')")
    assert page.evaluate(PAST) is None
    tab.assert_no_errors()


def test_the_agent_page_shows_the_agent_at_a_past_tick(tab: Tab, live_world: LiveWorld):
    page = tab.page
    tick = max(2, live_world.tick() - 2)
    page.goto(f"/agents/{OWNED}/?tick={tick}")
    past = wait_past(page, tick)
    assert past["world"] == live_world.world_state_at(past["worldPosition"])
    assert past["verified"] is True
    # The agent's own stream at the same moment: its events up to the tick's global position.
    (global_position,) = live_world.query("SELECT global_position FROM events_event WHERE stream_id = %s "
                                          "AND position = %s", (WORLD, past["worldPosition"]))[0]
    (upto,) = live_world.query("SELECT COALESCE(MAX(position), 0) FROM events_event WHERE stream_id = %s "
                               "AND global_position <= %s", (f"agent:{OWNED}", global_position))[0]
    assert past["position"] == upto
    assert past["stream"] == live_world.agent_stream_state_at(OWNED, upto)
    agent = past["world"]["agents"][OWNED]
    expect(page.locator("#now-title")).to_have_text(f"At tick {tick}")
    expect(page.locator("#energy-text")).to_have_text(f"{agent['energy']} / 100")
    expect(page.locator("#where")).to_have_text(f"({agent['x']}, {agent['y']})")
    expect(page.locator("#chart line.chart-cursor")).to_have_attribute("data-tick", str(tick))
    expect(page.locator("#past-history li").first).to_have_attribute("data-position", str(upto))
    screenshot(page, "agent-page-time-travel.png")
    page.get_by_role("button", name="Live").click()
    expect(page.locator("#now-title")).to_have_text("Now")
    tab.assert_no_errors()
