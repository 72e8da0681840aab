"""`verify_replay` as an operator runs it, on a committed log in its own process: the second
rebuild and the tick re-evaluation run in a second process, and a divergence found there is
named as it is anywhere."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import psycopg
import pytest

from events.compact import unpack_json
from selfplay.canonical import canonical_json
from tests.e2e.processes import manage
from tests.support.databases import REPO, fresh_database, process_env
from tests.support.tamper import SQLITE_TRIGGERS

pytestmark = pytest.mark.e2e


def rewrite(database_url: str, sql: str, params: tuple) -> None:
    """Change the log past its triggers, as someone with the database file could."""
    if database_url.startswith("sqlite"):
        db = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        with db:
            for trigger in SQLITE_TRIGGERS:
                db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            db.execute(sql.replace("%s", "?"), params)
        db.close()
        return
    with psycopg.connect(database_url) as db:
        db.execute("SET session_replication_role = replica")
        db.execute(sql, params)


def query(database_url: str, sql: str, params: tuple = ()) -> list[tuple]:
    if database_url.startswith("sqlite"):
        db = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            return db.execute(sql.replace("%s", "?"), params).fetchall()
        finally:
            db.close()
    with psycopg.connect(database_url) as db:
        return db.execute(sql, params).fetchall()


def verify_replay(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "manage.py"), "verify_replay", "--no-progress", "-v", "2"],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_the_second_pass_runs_in_a_second_process_and_reports_what_it_finds(tmp_path):
    with fresh_database(tmp_path) as database_url:
        env = process_env(database_url)
        manage("selfplay_soak", "--ticks", "6", "--agents", "4", env=env, timeout=300)

        honest = verify_replay(env)
        assert honest.returncode == 0, honest.stderr
        assert "6 ticks re-evaluated" in honest.stdout
        assert "rebuild 2/2 and the tick re-evaluation run in process" in honest.stderr

        # An outcome rewritten (and its hash left alone): only re-evaluating tick 2 shows it.
        (position, data), = query(database_url, "SELECT global_position, data FROM events_event WHERE "
                                  "stream_id = 'world:soak' AND type LIKE 'agent.action.%%' "
                                  "ORDER BY global_position LIMIT 1 OFFSET 4")
        recorded = json.loads(unpack_json(data)) if isinstance(data, str | bytes) else data
        forged = {**recorded, "action": {"type": "say", "text": "I never did that"}}
        cast = "" if database_url.startswith("sqlite") else "::jsonb"
        rewrite(database_url, f"UPDATE events_event SET data = %s{cast} WHERE global_position = %s",
                (canonical_json(forged), position))

        found = verify_replay(env)
        assert found.returncode == 1 and found.stdout == ""
        assert "run in process" in found.stderr
        assert f"divergence: region soak tick {recorded['tick']}: agent {recorded['agentId']}: " in found.stderr
