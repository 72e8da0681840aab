"""The world page says when its world stops ticking, and why, and stops saying it once it ticks."""

from __future__ import annotations

import json
import os
import signal
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.e2e.processes import wait_for

from .conftest import REGION, LiveWorld, Tab, open_live, screenshot

pytestmark = pytest.mark.e2e


def server_health(world: LiveWorld) -> dict:
    with urllib.request.urlopen(f"{world.url}/worlds/{REGION}/health", timeout=10) as response:
        return json.load(response)


def test_a_stalled_world_gets_a_banner_and_the_cadence_card_says_so(tab: Tab, live_world: LiveWorld):
    page = tab.page
    open_live(page, f"/world/{REGION}/")
    page.wait_for_function("window.selfplay.health.latest !== null")
    expect(page.locator("#world-warnings")).to_be_hidden()

    worker = next(p for p in live_world.processes.started if p.name == "worker")
    os.killpg(worker.pgid, signal.SIGSTOP)  # the worker freezes: beat still fires, nothing ticks
    try:
        wait_for(lambda: server_health(live_world)["stalled"], timeout=30, message="the region to stall")
        page.evaluate("window.selfplay.health.check()")  # instead of waiting for the next poll
        banner = page.locator("#world-warnings")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text(f"Region {REGION} is stalled")
        expect(page.locator("#cadence-text")).to_contain_text("stalled:")
        expect(page.locator("#conn")).to_have_attribute("data-phase", "live")  # the socket itself is fine
        screenshot(page, "world-page-stalled.png")
    finally:
        os.killpg(worker.pgid, signal.SIGCONT)

    wait_for(lambda: not server_health(live_world)["stalled"], timeout=60, message="the region to catch up")
    page.evaluate("window.selfplay.health.check()")
    expect(page.locator("#world-warnings")).to_be_hidden()
    expect(page.locator("#cadence-text")).not_to_contain_text("stalled")
    tab.assert_no_errors()
