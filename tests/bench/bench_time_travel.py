"""Time travel in Chromium: how long the world page takes to show a past tick of a big log.

A region of 60 agents ticked 600 times (about 37,000 world events) with the tick service and an
injected clock, served by a real daphne; Debian's Chromium opens `/world/<region>/?tick=N`.

Ours: on a live page, from asking for tick N until it is drawn (the tick lookup, the checkpoint,
/sync pages, the fold in reducers.js, the checksum, the drawing), for a tick just after a kept
checkpoint and for an old tick that no kept checkpoint precedes (replayed from the stream's
start); also printed: opening `?tick=N` from nothing, page load included. Baseline, same run: the server's
own rebuild of the same state in Python (the checkpoint's state, or the initial one, plus
read_stream pages folded with selfplay.world), with no HTTP, no JSON to a browser, no drawing.
"""

from __future__ import annotations

import random
import time
import urllib.request
from datetime import UTC, datetime, timedelta

from django.conf import settings

from agents.services import NewAgent, create_region, spawn_agents, tick_region
from checkpoints.models import Checkpoint
from checkpoints.selectors import checkpoint_state
from events.store import read_stream
from selfplay import world as rules
from tests.e2e.processes import BIN, dedicated_redis, running, wait_for
from tests.support.databases import process_env

from .harness import BENCH_DIR, Result, use_fresh_database

REGION, AGENTS, TICKS = "bench-past", 60, 600
BRAINS = ("forager", "builder", "trader", "wanderer")


def build_world() -> str:
    path = use_fresh_database("time_travel")
    settings.SELFPLAY_PUBLISH_EVENTS = False
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    create_region(region_id=REGION, seed=7, epoch=epoch, tick_seconds=2)
    spawn_agents(region_id=REGION, rng_seed=7, agents=[
        NewAgent(id=f"a{i}", name=f"Agent {i}", brain=BRAINS[i % 4]) for i in range(AGENTS)])
    tick_region(region_id=REGION, now=epoch + timedelta(seconds=2 * TICKS), max_catchup=TICKS)
    return f"sqlite:///{path}"


def server_state(position: int) -> dict:
    """Return the world at `position`, rebuilt by the server from its nearest checkpoint."""
    stream = f"world:{REGION}"
    checkpoint = (Checkpoint.objects.filter(stream_id=stream, position__lte=position)
                  .order_by("-position").first())
    state = checkpoint_state(checkpoint) if checkpoint else rules.initial_state("world", REGION)
    after = checkpoint.position if checkpoint else 0
    while after < position:
        events = read_stream(stream, after=after, limit=min(5000, position - after))
        state = rules.fold("world", state, [e.to_wire() for e in events])
        after = events[-1].position
    return state


def server_rebuild(position: int) -> float:
    """Seconds for the server to rebuild the world at `position` from its nearest checkpoint."""
    started = time.perf_counter()
    assert server_state(position)["tick"] > 0
    return time.perf_counter() - started


def tick_end(tick: int) -> int:
    return next(e.position for e in read_stream(f"world:{REGION}", limit=10_000, after=tick * 55)
                if e.type == "world.tick.completed" and e.data["tick"] == tick)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def run() -> list[Result]:
    from playwright.sync_api import sync_playwright

    database_url = build_world()
    stream = f"world:{REGION}"
    kept = sorted(Checkpoint.objects.filter(stream_id=stream).values_list("position", flat=True))
    recent_tick = TICKS - 2
    old_tick = TICKS // 2
    # The region's first checkpoint (at world.created, stamped with the wall clock while the
    # ticks carry the injected one) may be kept: replaying from it is replaying from the start.
    before_old = [position for position in kept if position <= tick_end(old_tick)]
    assert before_old in ([], [1]), f"the old tick should have no checkpoint after the start before it: {before_old}"
    port = random.randrange(20000, 40000)
    measured = []
    with dedicated_redis() as redis_url, running(process_env(
            database_url, REDIS_URL=redis_url, SELFPLAY_READ_RATE_LIMIT="100000"), BENCH_DIR) as processes:
        processes.start("daphne", [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "selfplay.asgi:application"])
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                                 args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page(base_url=f"http://127.0.0.1:{port}")
            wait_for(lambda: answers(f"http://127.0.0.1:{port}/"), timeout=30, message="daphne")
            for name, tick in (("recent_tick", recent_tick), ("old_tick_from_start", old_tick)):
                # A fresh page, live first; then the seek alone: tick lookup, checkpoint, /sync
                # pages, the fold, the checksum and the drawing.
                page.goto("about:blank")
                page.goto(f"/world/{REGION}/")
                page.wait_for_function("window.selfplay.status().phase === 'live'", timeout=60_000)
                seconds = page.evaluate(f"""async () => {{
                  const started = performance.now();
                  await window.selfplay.timeline.go({tick});
                  return (performance.now() - started) / 1000;
                }}""")
                past = page.evaluate("window.selfplay.past()")
                assert past["tick"] == tick and past["verified"] is True
                requests = page.evaluate("window.selfplay.worldHistory.requests")
                started = time.perf_counter()
                page.goto("about:blank")
                page.goto(f"/world/{REGION}/?tick={tick}")
                page.wait_for_function(f"window.selfplay.past()?.tick === {tick}", timeout=120_000)
                opened = time.perf_counter() - started
                source = f"checkpoint #{past['checkpoint']['position']}" if past["checkpoint"] else "the start"
                print(f"time travel to tick {tick}: {past['replayed']} events replayed from {source} in "
                      f"{seconds:.3f} s ({requests} requests); opening ?tick={tick} from nothing: {opened:.2f} s",
                      flush=True)
                measured.append((f"time_travel.{name}_{past['replayed']}_events", seconds, past["position"]))
            # Playing: each next tick folds on from the last one, from events already read.
            steps = 20
            seconds = page.evaluate(f"""async () => {{
              const started = performance.now();
              for (let t = {old_tick + 1}; t <= {old_tick + steps}; t++) await window.selfplay.timeline.go(t);
              return (performance.now() - started) / 1000 / {steps};
            }}""")
            past = page.evaluate("window.selfplay.past()")
            assert past["tick"] == old_tick + steps and past["verified"] is True
            print(f"playing on from tick {old_tick}: {seconds * 1000:.1f} ms a tick", flush=True)
            measured.append(("time_travel.play_one_tick", seconds, None))
            browser.close()
    # The ORM refuses to run inside Playwright's event loop: the baselines come afterwards.
    results = [Result(name, seconds, server_rebuild(position), "s", higher_is_better=False)
               for name, seconds, position in measured if position is not None]
    # One tick (about 61 events) read and folded by the server, from the state before it.
    before, after = tick_end(old_tick), tick_end(old_tick + 1)
    state = server_state(before)
    started = time.perf_counter()
    rules.fold("world", state, [e.to_wire() for e in read_stream(stream, after=before, limit=after - before)])
    results += [Result(name, seconds, time.perf_counter() - started, "s", higher_is_better=False)
                for name, seconds, position in measured if position is None]
    return results
