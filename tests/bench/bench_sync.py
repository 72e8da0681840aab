"""`GET /sync` catching up 100,000 events in pages, against a raw SQL read of the same rows.

Ours: the real view through Django's test client (routing, token check, checkpoint state with
its checksum verified, read_stream, wire format, DRF JSON rendering), pages of 5,000 until
`complete`. Baseline, same run: one raw cursor read of the same rows, turned into the same wire
JSON by hand (json.loads of data/metadata, json.dumps of the page) — the least an endpoint does.
"""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.db import connection
from django.test import Client

from checkpoints.services import create_checkpoint
from events.compact import unpack_hash, unpack_id, unpack_json
from events.raw import append_batch  # fills the log fast, below projections and hooks
from events.store import ANY, NewEvent

from .harness import Result, use_fresh_database

EVENTS, PAGE, STREAM = 100_000, 5000, "agent:bench"


def run() -> list[Result]:
    use_fresh_database("sync")
    settings.SELFPLAY_PUBLISH_EVENTS = False
    append_batch([(STREAM, [NewEvent("bench.noted", {"n": 0})], ANY)])
    create_checkpoint(STREAM)
    for start in range(1, EVENTS, 5000):
        append_batch([(STREAM, [NewEvent("agent.action.submitted", {
            "tick": n, "region": "bench", "action": {"type": "move", "dx": 1, "dy": 0}, "source": "brain"},
            {"actor": "agent:bench", "tick": n}) for n in range(start, min(start + 5000, EVENTS))], ANY)])
    client = Client(SERVER_NAME="127.0.0.1")
    token = client.get("/checkpoint/latest", {"streamId": STREAM}).json()["token"]

    def ours() -> int:
        after, count = 0, 0
        while True:
            body = client.get("/sync", {"token": token, "after": after, "limit": PAGE}).json()
            count += len(body["events"])
            after = body["lastPosition"]
            if body["complete"]:
                return count

    def baseline() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT event_id, stream_id, position, global_position, type, data, metadata, "
                           "recorded_at, prev_hash, hash FROM events_event WHERE stream_id = %s "
                           "ORDER BY position", [STREAM])
            rows = cursor.fetchall()
        wire = [{"id": unpack_id(r[0]), "streamId": r[1], "position": r[2], "globalPosition": r[3], "type": r[4],
                 "data": json.loads(unpack_json(r[5])), "metadata": json.loads(unpack_json(r[6])),
                 "recordedAt": str(r[7]), "prevHash": unpack_hash(r[8]), "hash": unpack_hash(r[9])} for r in rows]
        for start in range(0, len(wire), PAGE):
            json.dumps({"events": wire[start:start + PAGE]})
        return len(wire)

    started = time.perf_counter()
    assert ours() == EVENTS
    ours_seconds = time.perf_counter() - started
    started = time.perf_counter()
    assert baseline() == EVENTS
    baseline_seconds = time.perf_counter() - started
    return [Result("sync.catch_up_100k", EVENTS / ours_seconds, EVENTS / baseline_seconds, "events/s")]
