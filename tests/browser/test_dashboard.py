"""The operator's dashboard in real Chromium: full width, refreshing by itself, trends drawn."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import OPERATOR, OPERATOR_PASSWORD, REGION, LiveWorld, Tab, screenshot

pytestmark = pytest.mark.e2e


def test_the_dashboard_spans_the_page_refreshes_and_draws_the_last_hour(tab: Tab, live_world: LiveWorld,
                                                                        operator_account):
    page = tab.page
    page.goto("/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(OPERATOR)
    page.get_by_label("Password").fill(OPERATOR_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    dashboard = page.locator("#selfplay-dashboard")
    expect(dashboard).to_be_visible()
    # It refreshes by itself, and each refresh follows the ticks.
    page.wait_for_function("Number(document.querySelector('#selfplay-dashboard').dataset.refreshed) >= 2",
                           timeout=20_000)
    tick_shown = int(page.locator("#dashboard-regions tr td").nth(1).inner_text())
    assert tick_shown >= live_world.tick() - 10
    # Full width: as wide as the page's main area (not its left column), headers on one line.
    widths = page.evaluate("""() => ({dashboard: document.querySelector('#selfplay-dashboard').getBoundingClientRect().width,
                                     content: document.querySelector('main').getBoundingClientRect().width,
                                     header: Math.max(...[...document.querySelectorAll('.dashboard-table th')]
                                                      .map(th => th.getBoundingClientRect().height))})""")
    assert widths["dashboard"] >= 0.95 * widths["content"]
    assert widths["header"] < 40  # one line, not a letter per line
    # Each chart draws a line for the region; the world page is one click away.
    for chart in ("chart-ticks", "chart-lateness", "chart-events"):
        expect(page.locator(f"#{chart} path[data-series='{REGION}']")).to_have_count(1)
    expect(page.locator("#chart-flags path")).to_have_count(1)
    expect(page.locator(f"#dashboard-regions a[href='/world/{REGION}/']")).to_be_visible()
    expect(page.locator(".dashboard-warning")).to_have_count(0)  # the world ticks, the broker answers
    screenshot(page, "admin-dashboard.png")
    tab.assert_no_errors()
