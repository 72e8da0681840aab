"""Append 100,000 events (100 ticks × 1,000 agent streams) and read them back with read_all.

Baselines, in the same run: plain sqlite3 executemany of the same rows into the same schema with
the same PRAGMAs, one transaction per tick; a raw cursor scan that takes each event's values out
of the compact form the rows are stored in (events.compact: the id and hashes as text, json.loads
of the data and metadata); and the
`eventsourcing` library's SQLite recorder doing the same 100 ticks × 1,000 aggregates.
"""

from __future__ import annotations

import json

from django.db import connection

from events.compact import unpack_hash, unpack_id, unpack_json
from events.raw import append_batch  # the append itself, below projections and hooks
from events.store import ANY, NewEvent, read_all

from . import eventsourcing_baseline
from .harness import BENCH_DIR, Result, baseline_database, timed, use_fresh_database

TICKS, AGENTS = 100, 1000


def tick_items(tick: int):
    return [
        (f"agent:a{agent}", [NewEvent("agent.action.submitted",
                                      {"tick": tick, "action": {"type": "move", "dx": 1, "dy": 0},
                                       "source": "brain"},
                                      {"actor": f"agent:a{agent}", "tick": tick})], ANY)
        for agent in range(AGENTS)
    ]


def run() -> list[Result]:
    path = use_fresh_database("event_store")
    ticks = [tick_items(t) for t in range(TICKS)]
    ours_seconds = timed(lambda: [append_batch(items) for items in ticks])
    total = TICKS * AGENTS

    with connection.cursor() as cursor:
        cursor.execute("SELECT global_position, event_id, stream_id, position, type, data, metadata, "
                       "recorded_at, prev_hash, hash, actor, tick FROM events_event ORDER BY global_position")
        event_rows = cursor.fetchall()
    baseline = baseline_database("event_store", path)

    def baseline_append():
        for tick in range(TICKS):
            rows = event_rows[tick * AGENTS:(tick + 1) * AGENTS]
            baseline.execute("BEGIN IMMEDIATE")
            heads = [(r[2], "agent", r[3], unpack_hash(r[9]), r[7]) for r in rows]
            if tick == 0:
                baseline.executemany("INSERT INTO events_stream (id, kind, version, head_hash, created_at) "
                                     "VALUES (?, ?, ?, ?, ?)", heads)
            else:
                baseline.executemany("UPDATE events_stream SET version = ?, head_hash = ? WHERE id = ?",
                                     [(h[2], h[3], h[0]) for h in heads])
            baseline.executemany("INSERT INTO events_event (global_position, event_id, stream_id, position, "
                                 "type, data, metadata, recorded_at, prev_hash, hash, actor, tick) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            baseline.execute("COMMIT")

    baseline_seconds = timed(baseline_append)

    def ours_read():
        after, count = 0, 0
        while page := read_all(after=after, limit=1000):
            after, count = page[-1].global_position, count + len(page)
        assert count == total

    def baseline_read():
        count = 0
        for row in baseline.execute("SELECT global_position, event_id, stream_id, position, type, data, "
                                    "metadata, recorded_at, prev_hash, hash FROM events_event "
                                    "ORDER BY global_position"):
            # What an event is made of, out of the stored form: its id and hashes as text too.
            unpack_id(row[1]), unpack_hash(row[8]), unpack_hash(row[9])
            json.loads(unpack_json(row[5]))
            json.loads(unpack_json(row[6]))
            count += 1
        assert count == total

    ours_read_seconds = timed(ours_read)
    baseline_read_seconds = timed(baseline_read)
    baseline.close()
    return [
        Result("event_store.append_100k", total / ours_seconds, total / baseline_seconds, "events/s"),
        Result("event_store.read_all_100k", total / ours_read_seconds, total / baseline_read_seconds, "events/s"),
        versus_eventsourcing(),
    ]


def versus_eventsourcing() -> Result:
    """Both sides create their streams first, then time building and saving 100 ticks of events."""
    use_fresh_database("event_store_vs_library")
    append_batch(tick_items(-1))
    ours_seconds = timed(lambda: [append_batch(tick_items(t)) for t in range(TICKS)])
    library_seconds = eventsourcing_baseline.append_seconds(BENCH_DIR / "eventsourcing.sqlite3", TICKS, AGENTS)
    total = TICKS * AGENTS
    return Result("event_store.append_vs_eventsourcing", total / ours_seconds, total / library_seconds, "events/s")
