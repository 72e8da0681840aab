"""One live world for the browser tests, and Debian's Chromium driven by Playwright.

The world is real: daphne serves the pages, the API and `WS /stream`; a Celery worker and beat
(DatabaseScheduler) tick region `meadow` every second; Redis is a logical database of its own,
flushed; the database is fresh. Every process runs in its own process group with its log in
the test's directory, and all are stopped when the session ends. A missing Chromium or Redis
fails the suite: these tests are never skipped.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from agents import agent_stream
from events.compact import unpack_json
from selfplay import world as world_rules
from tests.e2e.processes import BIN, Processes, dedicated_redis, manage, running, wait_for
from tests.support.databases import REPO, fresh_database, process_env
from tests.support.ports import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = REPO / "test-artifacts"
REGION = "meadow"
WORLD = f"world:{REGION}"
AGENTS = 8
PLAYER, PASSWORD, OWNED = "bob", "correct-horse-battery", "ada"
# Short waits for things that happen within a tick or two (ticks are 1 s apart).
SOON_MS = 15_000
expect.set_options(timeout=SOON_MS)


@dataclass
class LiveWorld:
    url: str
    database_url: str
    processes: Processes

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Run one read on the world's database (not the database pytest-django set up)."""
        if self.database_url.startswith("sqlite"):
            db = sqlite3.connect(self.database_url.removeprefix("sqlite:///"), timeout=30)
            try:
                return db.execute(sql.replace("%s", "?"), params).fetchall()
            finally:
                db.close()
        with psycopg.connect(self.database_url) as db:
            return db.execute(sql, params).fetchall()

    def events(self, stream_id: str, *, upto: int | None = None) -> list[dict]:
        """Return a stream's events in position order as wire-shaped dicts (type, data, metadata…)."""
        rows = self.query("SELECT position, global_position, type, data, metadata FROM events_event "
                          "WHERE stream_id = %s AND position <= %s ORDER BY position",
                          (stream_id, upto if upto is not None else 2**62))
        return [{"streamId": stream_id, "position": p, "globalPosition": g, "type": t,
                 "data": _json(d), "metadata": _json(m)} for p, g, t, d, m in rows]

    def world_state_at(self, position: int) -> dict:
        """Return the server's fold of the world stream's events 1..position."""
        return world_rules.fold("world", world_rules.initial_state("world", REGION), self.events(WORLD, upto=position))

    def agent_stream_state_at(self, agent_id: str, position: int) -> dict:
        """Return the server's fold of `agent:<id>`'s events 1..position."""
        return agent_stream.fold(agent_stream.initial_state(agent_id), self.events(f"agent:{agent_id}", upto=position))

    def head(self, stream_id: str = WORLD) -> int:
        rows = self.query("SELECT version FROM events_stream WHERE id = %s", (stream_id,))
        return rows[0][0] if rows else 0

    def tick(self) -> int:
        """Return the last completed tick of the region."""
        rows = self.query("SELECT data FROM events_event WHERE stream_id = %s AND type = %s "
                          "ORDER BY position DESC LIMIT 1", (WORLD, "world.tick.completed"))
        return _json(rows[0][0])["tick"] if rows else 0

    def assert_healthy(self) -> None:
        self.processes.assert_healthy()


def _json(value):
    return json.loads(unpack_json(value)) if isinstance(value, str | bytes) else value


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def live_world(tmp_path_factory) -> Iterator[LiveWorld]:
    tmp = tmp_path_factory.mktemp("browser-world")
    with fresh_database(tmp) as database_url, dedicated_redis() as redis_url:
        env = process_env(database_url, REDIS_URL=redis_url, SELFPLAY_SIM_TICK_SECONDS="1",
                          SELFPLAY_PLAN_TICK_SECONDS="3", SELFPLAY_VISIBILITY_TIMEOUT="5",
                          # Checkpoints every few ticks, so tokens move on while the tests run.
                          SELFPLAY_CHECKPOINT_EVERY_EVENTS="60",
                          # Every tab of the session reads from 127.0.0.1: one client to the read limit.
                          SELFPLAY_READ_RATE_LIMIT="100000")
        env.pop("CELERY_BROKER_URL", None)  # the broker must be the dedicated Redis database
        env.pop("DJANGO_DEBUG", None)  # static files must be served with DEBUG off too
        manage("selfplay_demo", "--agents", str(AGENTS), env=env)
        manage("selfplay_player", PLAYER, "--agent", OWNED, "--password", PASSWORD, env=env)
        manage("setup_periodic_tasks", env=env)
        port = free_port()
        with running(env, tmp) as processes:
            processes.start("daphne", [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port),
                                       "selfplay.asgi:application"])
            processes.celery_worker("worker")
            processes.celery_worker("planner", queues="planning")  # as make run's Procfile
            processes.celery_beat()
            world = LiveWorld(f"http://127.0.0.1:{port}", database_url, processes)
            wait_for(lambda: _answers(world.url + "/"), timeout=30, message="daphne to answer")
            wait_for(lambda: world.tick() >= 2, timeout=60,
                     message=lambda: f"2 ticks (have {world.tick()})\n{processes.report()}")
            yield world


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), (f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
                               "(apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@dataclass
class Tab:
    """A page in a browser context of its own, with the page's uncaught errors collected."""

    context: BrowserContext
    page: Page
    errors: list[str]

    def assert_no_errors(self) -> None:
        assert self.errors == [], "the page threw:\n" + "\n".join(self.errors)


def open_tab(browser: Browser, world: LiveWorld) -> Tab:
    context = browser.new_context(base_url=world.url, viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(SOON_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return Tab(context, page, errors)


@pytest.fixture
def tab(browser: Browser, live_world: LiveWorld) -> Iterator[Tab]:
    tab = open_tab(browser, live_world)
    yield tab
    tab.context.close()


OPERATOR, OPERATOR_PASSWORD = "olga", "operator-password-1"


@pytest.fixture
def operator_account(live_world: LiveWorld) -> None:
    """A staff superuser of the live world (made once, the first time a test asks)."""
    code = (f"from django.contrib.auth.models import User; "
            f"User.objects.filter(username='{OPERATOR}').exists() or "
            f"User.objects.create_superuser('{OPERATOR}', 'olga@example.com', '{OPERATOR_PASSWORD}')")
    manage("shell", "-c", code, env=live_world.processes.env)


def log_in(page: Page, username: str = PLAYER, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/my/agents/")


def open_live(page: Page, path: str) -> None:
    """Open a page of the live world and wait until its connection is live."""
    page.goto(path)
    expect(page.locator("#conn")).to_have_attribute("data-phase", "live")


def fulfil_error(route, status: int, code: str, message: str, details: dict) -> None:
    """Answer an intercepted API request with the error envelope of DESIGN §5."""
    route.fulfill(status=status, content_type="application/json",
                  body=json.dumps({"error": {"code": code, "message": message, "details": details}}))


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_every_position_once(tab: Tab, world: LiveWorld, *, first: int) -> dict:
    """The page applied first..P exactly once each, and its state is the server's fold at P."""
    tab.page.wait_for_function("window.selfplay.positions().length > 0")  # a checkpoint may be the head
    snapshot, positions = tab.page.evaluate("[window.selfplay.snapshot(), window.selfplay.positions()]")
    assert positions[0] == first
    assert positions == list(range(first, snapshot["position"] + 1)), "a position is missing or repeated"
    assert snapshot["position"] <= world.head()
    assert snapshot["state"] == world.world_state_at(snapshot["position"])
    tab.page.wait_for_function(
        "document.querySelector('#feed li')?.dataset.position == window.selfplay.client.position")
    shown = [int(p) for p in tab.page.locator("#feed li").evaluate_all("li => li.map(e => e.dataset.position)")]
    assert shown == list(range(shown[0], shown[0] - len(shown), -1)), "the feed repeats or skips a position"
    return snapshot
