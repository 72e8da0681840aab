"""4 OS processes × 2,000 appends to overlapping streams, plus a process tailing read_all.

Afterwards: every append recorded exactly once, positions gapless, global positions unique and
seen by the tailing reader in order with nothing appearing later below what it had seen, chains
intact, and no "database is locked".
"""

import json
import subprocess
import sys
from collections import defaultdict

import psycopg
import pytest

from events.compact import unpack_json
from tests.support.databases import REPO, fresh_database, process_env

WORKERS, APPENDS, STREAMS = 4, 2000, 25

TAILER = """
import json, sys, time, django
django.setup()
from events.store import read_all
seen, last, idle = [], 0, 0
while idle < 40:
    page = read_all(after=last, limit=1000)
    if page:
        seen.extend(e.global_position for e in page)
        last = page[-1].global_position
        idle = 0 if len(seen) < int(sys.argv[1]) else idle + 1
    else:
        idle += 1 if len(seen) >= int(sys.argv[1]) else 0
        time.sleep(0.02)
print(json.dumps(seen))
"""


def rows(url: str) -> list[tuple]:
    sql = "SELECT stream_id, position, global_position, data FROM events_event ORDER BY global_position"
    if url.startswith("sqlite"):
        import sqlite3
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            return [(s, p, g, json.loads(unpack_json(d))) for s, p, g, d in db.execute(sql)]
    with psycopg.connect(url) as db:
        return [(s, p, g, d) for s, p, g, d in db.execute(sql)]


@pytest.mark.django_db
def test_four_processes_append_without_gaps_duplicates_or_locks(tmp_path):
    total = WORKERS * APPENDS
    with fresh_database(tmp_path) as url:
        env = process_env(url)
        tailer = subprocess.Popen([sys.executable, "-c", TAILER, str(total)], env=env, cwd=REPO,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        workers = [
            subprocess.Popen([sys.executable, "tests/events/appender.py", str(w), str(APPENDS), str(STREAMS)],
                             env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for w in range(WORKERS)
        ]
        reports = []
        for proc in workers:
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err
            assert "locked" not in err
            reports.append(json.loads(out))
        seen_out, seen_err = tailer.communicate(timeout=300)
        assert tailer.returncode == 0, seen_err
        seen_by_tailer = json.loads(seen_out)

        recorded = rows(url)
        verify = subprocess.run([sys.executable, "manage.py", "verify_chain", "--no-progress"],
                                env=env, cwd=REPO, capture_output=True, text=True)

    assert [r["errors"] for r in reports] == [0] * WORKERS
    assert len(recorded) == total
    appends = {(d["worker"], d["seq"]) for _, _, _, d in recorded}
    assert appends == {(w, s) for w in range(WORKERS) for s in range(APPENDS)}
    positions = defaultdict(list)
    for stream_id, position, _, _ in recorded:
        positions[stream_id].append(position)
    for stream_id, found in positions.items():
        assert found == list(range(1, len(found) + 1)), f"gap or duplicate in {stream_id}"
    global_positions = [g for _, _, g, _ in recorded]
    assert len(set(global_positions)) == total
    # The tailer read with after=<last seen>: anything committed later below that would be missing.
    assert seen_by_tailer == global_positions
    assert verify.returncode == 0, verify.stderr
    assert f"{total} events, every chain intact" in verify.stdout
