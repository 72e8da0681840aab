"""Interruptions: the page resyncs through /sync and the socket and holds every position once."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.e2e.processes import wait_for

from .conftest import (
    REGION,
    WORLD,
    LiveWorld,
    Tab,
    assert_every_position_once,
    fulfil_error,
    open_live,
    screenshot,
)

pytestmark = pytest.mark.e2e

TOKEN_KEY = f"selfplay.stream.{WORLD}.token"
POSITION_KEY = f"selfplay.stream.{WORLD}.position"


def open_world(tab: Tab) -> None:
    open_live(tab.page, f"/world/{REGION}/")


def open_world_with_events(tab: Tab) -> tuple[int, int]:
    """Open the world page live with events applied; return (its first position, the socket's generation)."""
    open_world(tab)
    tab.page.wait_for_function("window.selfplay.positions().length > 0")
    return tab.page.evaluate("[window.selfplay.positions()[0], window.selfplay.client.generation]")


def watch_requests(tab: Tab) -> list[tuple[str, dict]]:
    """Collect (path, query) of every API request the page makes from now on, in order."""
    seen: list[tuple[str, dict]] = []

    def record(request):
        url = urlparse(request.url)
        if url.path in ("/sync", "/checkpoint/latest"):
            seen.append((url.path, {k: v[0] for k, v in parse_qs(url.query).items()}))

    tab.page.on("request", record)
    return seen


def is_sync_page(response) -> bool:
    return urlparse(response.url).path == "/sync" and response.status == 200


def test_a_connection_dropped_for_three_ticks_resyncs_every_position_exactly_once(tab: Tab, live_world: LiveWorld):
    page = tab.page
    open_world(tab)
    page.wait_for_function("window.selfplay.positions().length > 0")  # the checkpoint may be the head
    first = page.evaluate("window.selfplay.positions()[0]")

    tab.context.set_offline(True)
    expect(page.locator("#conn")).to_have_attribute("data-phase", "offline")
    expect(page.locator("#conn")).to_contain_text("Offline")
    dropped_at = page.evaluate("window.selfplay.client.position")
    tick_at_drop = live_world.tick()
    wait_for(lambda: live_world.tick() >= tick_at_drop + 3, timeout=30, message="3 ticks while offline")
    assert page.evaluate("window.selfplay.client.position") == dropped_at, "events arrived while offline"
    head_while_offline = live_world.head()
    assert head_while_offline > dropped_at
    requests = watch_requests(tab)

    tab.context.set_offline(False)
    expect(page.locator("#conn")).to_have_attribute("data-phase", "live")
    page.wait_for_function(f"window.selfplay.client.position >= {head_while_offline}")

    # The missed events came through /sync, from the last position the page had applied, with
    # the indicator showing the resync, then the socket took over.
    assert requests[0][0] == "/sync" and requests[0][1]["after"] == str(dropped_at)
    history = page.evaluate("window.selfplay.history()")
    back = history[max(i for i, h in enumerate(history) if h["phase"] == "offline") + 1:]
    assert back[0] == {"phase": "resyncing", "progress": 0, "at": back[0]["at"]}
    assert {"phase": "resyncing", "progress": 1} in [{k: h.get(k) for k in ("phase", "progress")} for h in back]
    assert back[-1]["phase"] == "live"
    assert_every_position_once(tab, live_world, first=first)
    screenshot(page, "world-page-after-resync.png")
    tab.assert_no_errors()


def test_a_reload_resumes_from_the_stored_token(tab: Tab, live_world: LiveWorld):
    page = tab.page
    open_world(tab)
    page.wait_for_function(f"window.selfplay.snapshot().state.tick >= {live_world.tick() + 2}")
    stored = json.loads(page.evaluate(f"localStorage.getItem('{TOKEN_KEY}')"))
    requests = watch_requests(tab)

    with page.expect_response(is_sync_page) as first_page:
        page.reload()
    expect(page.locator("#conn")).to_have_attribute("data-phase", "live")

    # The first request after the reload is /sync with the stored token, from its checkpoint.
    assert requests[0] == ("/sync", {"token": stored["token"], "limit": "1000"})
    assert first_page.value.json()["checkpoint"]["position"] == stored["position"]
    assert_every_position_once(tab, live_world, first=stored["position"] + 1)

    # Back after a while: the feed marks the first event new since the last visit.
    page.goto("about:blank")
    (origin,) = [o for o in tab.context.storage_state()["origins"] if o["origin"] == live_world.url]
    left_at = int(next(item["value"] for item in origin["localStorage"] if item["name"] == POSITION_KEY))
    wait_for(lambda: live_world.head() > left_at + 1, timeout=30, message="a tick while away")
    open_live(page, f"/world/{REGION}/")
    assert page.evaluate("window.selfplay.client.lastSeen") == left_at
    marked = page.locator("#feed li.first-new")
    expect(marked).to_have_count(1)
    expect(marked).to_have_attribute("data-position", str(left_at + 1))
    marked.scroll_into_view_if_needed()
    screenshot(page, "world-page-after-reload.png")

    # A token the server refuses (forged, expired, pruned) falls back to the latest checkpoint.
    page.evaluate(f"localStorage.setItem('{TOKEN_KEY}', JSON.stringify({{token: 'forged', position: 1}}))")
    requests.clear()
    with page.expect_response(is_sync_page) as first_page:
        page.reload()
    expect(page.locator("#conn")).to_have_attribute("data-phase", "live")
    assert [path for path, _ in requests[:3]] == ["/sync", "/checkpoint/latest", "/sync"]
    assert requests[0][1]["token"] == "forged" and requests[2][1]["token"] != "forged"
    assert_every_position_once(tab, live_world, first=first_page.value.json()["checkpoint"]["position"] + 1)
    tab.assert_no_errors()


def test_without_a_checkpoint_the_socket_replays_the_stream_from_its_start(tab: Tab, live_world: LiveWorld):
    tab.page.route(re.compile(r"/checkpoint/latest\?"), lambda route: fulfil_error(
        route, 404, "no_checkpoint", f"Stream {WORLD} has no checkpoint yet.", {"streamId": WORLD}))
    requests = watch_requests(tab)
    open_world(tab)
    paths = [path for path, _ in requests]
    assert paths[0] == "/checkpoint/latest" and "/sync" not in paths
    assert_every_position_once(tab, live_world, first=1)
    tab.assert_no_errors()


def test_a_socket_that_goes_silent_is_noticed_within_three_ticks_and_replaced(tab: Tab, live_world: LiveWorld):
    """A server that lost its channel layer keeps the socket open but sends nothing, heartbeats
    included: after three silent tick intervals the page asks /sync, sees the world moved on, and
    reconnects, every position still applied exactly once."""
    page = tab.page
    first, generation = open_world_with_events(tab)
    # Deafen the live socket: it stays open, but nothing it brings reaches the page any more.
    page.evaluate("window.selfplay.client.socket.onmessage = () => {}")
    silent_at = page.evaluate("window.selfplay.client.position")
    wait_for(lambda: page.evaluate("window.selfplay.client.generation") > generation, timeout=30,
             message="the page to notice the silent socket")
    expect(page.locator("#conn")).to_have_attribute("data-phase", "live")
    wait_for(lambda: page.evaluate("window.selfplay.client.position") > silent_at, timeout=30,
             message="events after the reconnect")
    assert_every_position_once(tab, live_world, first=first)
    tab.assert_no_errors()


def test_a_bug_in_a_render_callback_is_reported_and_the_connection_stays_up(tab: Tab, live_world: LiveWorld):
    """An exception thrown while the page draws events is the page's bug: it is shown and kept in
    window.selfplay.errors(), and the socket goes on delivering; only protocol problems reconnect."""
    page = tab.page
    first, generation = open_world_with_events(tab)
    page.evaluate("""() => {
      const client = window.selfplay.client;
      const draw = client.onEvents;
      let thrown = false;
      client.onEvents = (events) => {
        if (!thrown) { thrown = true; throw new Error("a bug in a render callback"); }
        draw(events);
      };
    }""")
    banner = page.locator("#page-error")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("a bug in a render callback")
    expect(banner).to_contain_text("The connection is fine")
    (error,) = page.evaluate("window.selfplay.errors()")
    assert error["message"] == "a bug in a render callback"
    assert error["where"] == f"drawing {WORLD} (onEvents)"
    # Events keep coming over the same socket: no reconnect, no resync, every position once.
    thrown_at = page.evaluate("window.selfplay.client.position")
    wait_for(lambda: page.evaluate("window.selfplay.client.position") > thrown_at + 5, timeout=30,
             message="events after the exception")
    assert page.evaluate("window.selfplay.client.generation") == generation
    assert [h["phase"] for h in page.evaluate("window.selfplay.history()")][-1] == "live"
    assert "reconnecting" not in [h["phase"] for h in page.evaluate("window.selfplay.history()")]
    positions = page.evaluate("window.selfplay.positions()")
    assert positions == list(range(first, positions[-1] + 1))
    expect(page.locator("#conn")).to_have_attribute("data-phase", "live")
    tab.assert_no_errors()  # nothing reached the page uncaught


def test_a_gap_in_the_stream_still_reconnects_and_resyncs(tab: Tab, live_world: LiveWorld):
    """A protocol problem is not a page bug: an event that skips a position closes the socket and
    the page resyncs from its last position, with nothing reported as a page error."""
    page = tab.page
    first, generation = open_world_with_events(tab)
    page.evaluate("""() => {
      const client = window.selfplay.client;
      const position = client.position;
      client.socket.onmessage({data: JSON.stringify({type: "event", event: {position: position + 2}})});
    }""")
    wait_for(lambda: page.evaluate("window.selfplay.client.generation") > generation, timeout=30,
             message="a reconnect after the gap")
    expect(page.locator("#conn")).to_have_attribute("data-phase", "live")
    assert page.evaluate("window.selfplay.errors()") == []
    expect(page.locator("#page-error")).to_be_hidden()
    assert_every_position_once(tab, live_world, first=first)
    tab.assert_no_errors()
