"""Logging in and out, "my agents", and what a visitor who owns nothing sees."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import OWNED, PASSWORD, PLAYER, REGION, LiveWorld, Tab, log_in, screenshot

pytestmark = pytest.mark.e2e


def test_log_in_see_my_agents_and_log_out(tab: Tab, live_world: LiveWorld):
    page = tab.page
    page.goto("/my/agents/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/my/agents/$"))

    page.get_by_label("Username").fill(PLAYER)
    page.get_by_label("Password").fill(PASSWORD + "-wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username and password")
    screenshot(page, "login-page.png")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/my/agents/$"))
    rows = page.locator("#my-agents tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-agent", OWNED)
    expect(rows.first.get_by_role("link", name="Ada")).to_have_attribute("href", f"/agents/{OWNED}/")
    expect(rows.first.get_by_role("link", name=REGION)).to_have_attribute("href", f"/world/{REGION}/")
    screenshot(page, "my-agents-page.png")

    page.get_by_role("button", name=re.compile("Log out")).click()
    expect(page).to_have_url(live_world.url + "/")
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    page.goto("/my/agents/")
    expect(page).to_have_url(re.compile(r"/login/"))
    tab.assert_no_errors()


def test_regions_and_an_agent_page_without_the_override_panel_for_others(tab: Tab, live_world: LiveWorld):
    page = tab.page
    page.goto("/")
    screenshot(page, "regions-page.png")
    page.get_by_role("link", name=REGION, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/world/{REGION}/$"))
    expect(page.locator("#conn")).to_have_attribute("data-phase", "live")

    # A visitor watches an agent but has no override panel; its owner would.
    page.get_by_role("link", name="Ada", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/agents/{OWNED}/$"))
    expect(page.locator("#conn")).to_have_attribute("data-phase", "live")
    expect(page.locator("#override")).to_have_count(0)
    expect(page.locator("#energy-text")).to_have_text(re.compile(r"^\d+ / 100$"))
    log_in(page)
    page.goto(f"/agents/{OWNED}/")
    expect(page.get_by_role("button", name="Send override")).to_be_visible()
    page.goto("/agents/edsger/")
    expect(page.locator("#override")).to_have_count(0)

    response = page.goto("/world/atlantis/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    tab.assert_no_errors()
