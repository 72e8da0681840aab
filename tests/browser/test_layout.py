"""Layout in real Chromium: every page fits a 375 px phone screen, wide tables scroll inside their
card, and long words wrap inside theirs."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import OWNED, REGION, LiveWorld, Tab, log_in, open_live, screenshot

pytestmark = pytest.mark.e2e

PAGE_WIDTH = "document.documentElement.scrollWidth"


def test_every_page_fits_a_phone_screen_and_wide_tables_scroll_in_their_card(tab: Tab, live_world: LiveWorld):
    page = tab.page
    log_in(page)
    page.set_viewport_size({"width": 375, "height": 800})
    for path in ("/", f"/world/{REGION}/", f"/agents/{OWNED}/", "/my/agents/", "/local/"):
        page.goto(path)
        page.wait_for_load_state("load")
        assert page.evaluate(PAGE_WIDTH) <= 375, f"{path} scrolls sideways ({screenshot(page, 'narrow.png')})"
    # /my/agents/: the table is wider than the screen, so its card scrolls, and every column is reachable.
    page.goto("/my/agents/")
    card = page.locator(".card.flush")
    assert card.evaluate("c => c.scrollWidth > c.clientWidth && getComputedStyle(c).overflowX === 'auto'")
    tab.assert_no_errors()


def test_a_long_word_wraps_inside_the_agent_page(tab: Tab, live_world: LiveWorld):
    page = tab.page
    log_in(page)
    open_live(page, f"/agents/{OWNED}/")
    width = page.evaluate("window.innerWidth")
    word = "x" * 140
    page.get_by_label("Action").select_option("say")
    page.get_by_label("Text").fill(word)
    page.get_by_role("button", name="Send override").click()
    result = page.locator("#command-results li").first
    expect(result).to_contain_text(re.compile(r"→ tick \d+: said"), timeout=30_000)
    decided = page.locator("#history li").filter(has_text="Decided to say").first
    expect(decided).to_be_visible()
    for item in (result, decided):
        assert item.evaluate("li => li.scrollWidth <= li.clientWidth"), screenshot(page, "long-word.png")
    # ... and the line's text keeps most of the line, not a column one letter wide.
    assert decided.evaluate("li => li.querySelector('.feed-text').getBoundingClientRect().width "
                            ">= 0.4 * li.getBoundingClientRect().width"), screenshot(page, "long-word.png")
    assert page.evaluate(PAGE_WIDTH) <= width
    tab.assert_no_errors()
