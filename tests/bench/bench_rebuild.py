"""Rebuild every projection from a log of 1,000,000 events (a real world: 1,000 agents ticking).

Baseline, in the same run: the floor of any rebuild, a plain sqlite3 scan of the same events in
order with json.loads of their data and metadata (out of the compact form, events.compact),
folding nothing.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import UTC, datetime, timedelta

from django.conf import settings

from agents.services import NewAgent, create_region, spawn_agents, tick_region
from events.compact import unpack_json
from events.projections import rebuild_and_replace
from events.store import head_global_position

from .harness import Result, timed, use_fresh_database

EVENTS, AGENTS = 1_000_000, 1000
BRAINS = ["builder", "forager", "trader", "wanderer"]
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def grow_log(events: int) -> int:
    create_region(region_id="rebuild", seed=5, epoch=EPOCH, width=110, height=110)
    spawn_agents(region_id="rebuild", rng_seed=5, agents=[
        NewAgent(id=f"a{i}", name=f"Agent {i}", brain=BRAINS[i % len(BRAINS)]) for i in range(AGENTS)])
    tick = 0
    while head_global_position() < events:
        tick += 1
        tick_region(region_id="rebuild", now=EPOCH + timedelta(seconds=2 * tick))
    return head_global_position()


def run() -> list[Result]:
    settings.SELFPLAY_PUBLISH_EVENTS = False
    logging.getLogger("agents.services").setLevel(logging.WARNING)
    path = use_fresh_database("rebuild")
    total = grow_log(EVENTS)
    rebuilt = []
    ours_seconds = timed(lambda: rebuilt.append(rebuild_and_replace()))
    assert rebuilt[0].events == total

    def raw_scan():
        with sqlite3.connect(path) as db:
            for data, metadata in db.execute("SELECT data, metadata FROM events_event ORDER BY global_position"):
                json.loads(unpack_json(data))
                json.loads(unpack_json(metadata))

    baseline_seconds = timed(raw_scan)
    return [Result(f"projections.rebuild_{total // 1000}k_events", ours_seconds, baseline_seconds, "s",
                   higher_is_better=False)]
