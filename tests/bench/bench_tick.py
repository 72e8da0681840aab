"""One tick of 1,000 and of 10,000 agents in one region: decide, evaluate, append, project, commit.

Baseline, in the same run: the same pure game step (brains, evaluate_tick, the projection
folds) plus plain sqlite3 executemany of the very rows our tick wrote (events, stream heads,
projection rows, checkpoints) into a copy of the same database, in one transaction.
"""

from __future__ import annotations

import gc
import logging
import sqlite3
import statistics
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection

from agents import runtime
from agents.models import Region
from agents.services import NewAgent, create_region, spawn_agents, tick_region
from events.projections import load_state
from events.store import head_global_position
from selfplay import world

from .harness import BENCH_DIR, Result, use_fresh_database

BRAINS = ["builder", "forager", "trader", "wanderer"]
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
EVENT_COLUMNS = ("global_position, event_id, stream_id, position, type, data, metadata, recorded_at, "
                 "prev_hash, hash, actor, tick")


def pure_game_step(region_id: str, state: dict, tick: int) -> None:
    agents_state, _ = load_state("agents", region_id)
    leaderboard, _ = load_state("leaderboard", region_id)
    decisions = {}
    for agent_id in sorted(state["agents"]):
        brain = state["agents"][agent_id]["brain"]
        ctx = runtime.context(agent_id, state, None, tick=tick)
        decisions[agent_id] = runtime.decide(brain, ctx, state)[0]
    outcomes = world.evaluate_tick(state, decisions, tick=tick, seed=world.tick_seed(state["seed"], tick))
    world.close_tick(state, outcomes, tick=tick, duration_ms=0)
    world.fold("agents", agents_state, outcomes)
    world.fold("leaderboard", leaderboard, outcomes)


def rows_of_tick(after: int):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {EVENT_COLUMNS} FROM events_event WHERE global_position > %s", [after])
        events = cursor.fetchall()
        cursor.execute("SELECT version, head_hash, id FROM events_stream WHERE id IN "
                       "(SELECT DISTINCT stream_id FROM events_event WHERE global_position > %s)", [after])
        streams = cursor.fetchall()
        cursor.execute("SELECT state, global_position, checksum, updated_at, name, key FROM events_projection")
        projections = cursor.fetchall()
        cursor.execute("SELECT id, stream_id, position, global_position, checksum, storage, state, created_at "
                       "FROM checkpoints_checkpoint WHERE global_position > %s", [after])
        checkpoints = cursor.fetchall()
    return events, streams, projections, checkpoints


def baseline_write(db: sqlite3.Connection, events, streams, projections, checkpoints) -> None:
    db.execute("BEGIN IMMEDIATE")
    db.executemany("INSERT INTO checkpoints_checkpoint (id, stream_id, position, global_position, checksum, "
                   "storage, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", checkpoints)
    db.executemany(f"INSERT INTO events_event ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", events)
    db.executemany("UPDATE events_stream SET version = ?, head_hash = ? WHERE id = ?", streams)
    db.executemany("UPDATE events_projection SET state = ?, global_position = ?, checksum = ?, "
                   "updated_at = ? WHERE name = ? AND key = ?", projections)
    db.execute("COMMIT")


def measure(agents: int, ticks: int) -> list[Result]:
    path = use_fresh_database(f"tick_{agents}")
    side = 64 if agents <= 1000 else 200
    create_region(region_id="bench", seed=11, epoch=EPOCH, width=side, height=side)
    spawn_agents(region_id="bench", rng_seed=11, agents=[
        NewAgent(id=f"a{i}", name=f"Agent {i}", brain=BRAINS[i % len(BRAINS)]) for i in range(agents)])
    tick_region(region_id="bench", now=EPOCH + timedelta(seconds=2))  # warm caches, as a worker is
    baseline_path = BENCH_DIR / f"tick_{agents}-baseline.sqlite3"
    baseline_path.unlink(missing_ok=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM INTO %s", [str(baseline_path)])
    baseline = sqlite3.connect(baseline_path, isolation_level=None)
    for pragma in settings.DATABASES["default"]["OPTIONS"]["init_command"].split(";"):
        if pragma.strip():
            baseline.execute(pragma)

    ours, base = [], []
    for tick in range(2, 2 + ticks):
        state, _ = load_state("world", "bench")
        head = head_global_position()
        region = Region.objects.get(id="bench")
        # Each side starts with no garbage of the other's pending: a tick pauses the collector,
        # and the collection it defers would otherwise land in whichever side runs next.
        gc.collect()
        started = time.perf_counter()
        report = tick_region(region_id=region.id, now=EPOCH + timedelta(seconds=2 * tick))
        ours.append(time.perf_counter() - started)
        assert report.ticks == [tick], report
        rows = rows_of_tick(head)
        gc.collect()
        started = time.perf_counter()
        pure_game_step("bench", state, tick)
        baseline_write(baseline, *rows)
        base.append(time.perf_counter() - started)
    baseline.close()
    assert path.exists()
    return [Result(f"tick.{agents}_agents", statistics.median(ours), statistics.median(base), "s/tick",
                   higher_is_better=False)]


def run() -> list[Result]:
    settings.SELFPLAY_PUBLISH_EVENTS = False
    logging.getLogger("agents.services").setLevel(logging.WARNING)
    return measure(1000, 15) + measure(10000, 3)
