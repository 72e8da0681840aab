"""What must hold after every experiment: the log, the verifiers, the WebSocket clients."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from .daemon import Daemon


def tick_coverage(daemon: Daemon) -> list[str]:
    """Return what is wrong with "every tick from 1 to the head exactly once" (nothing: [])."""
    completed = [tick for tick, _ in daemon.completed()]
    covered = Counter(completed)
    for start, end, _ in daemon.skipped():
        covered.update(range(start, end + 1))
    last = max(covered, default=0)
    issues = []
    twice = sorted(t for t, n in covered.items() if n > 1)
    missing = sorted(set(range(1, last + 1)) - set(covered))
    if twice:
        issues.append(f"ticks done or skipped more than once: {twice[:10]}")
    if missing:
        issues.append(f"ticks neither done nor skipped: {missing[:10]}")
    return issues


def verifiers(daemon: Daemon) -> tuple[list[str], dict[str, float]]:
    """Run verify_chain, verify_replay and rebuild_projections --verify; return issues, seconds."""
    issues, seconds = [], {}
    for args in (("verify_chain",), ("verify_replay",), ("rebuild_projections", "--verify")):
        code, last_line, took = daemon.manage(*args, "--no-progress")
        seconds[args[0]] = round(took, 1)
        if code != 0:
            issues.append(f"{' '.join(args)} exited {code}: {last_line}")
    return issues, seconds


def read_status(path: Path) -> dict:
    for _ in range(20):
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            time.sleep(0.1)
    return {"clients": {}, "slow": {}}


def ws_holdings(status: dict) -> list[str]:
    """Return what is wrong with "every client holds every position exactly once"."""
    issues = []
    for client in [*status["clients"].values(), status["slow"]]:
        if not client:
            continue
        if client["duplicates"] or client["gaps"] or client["received"] != client["last"]:
            issues.append(f"{client['name']}: last {client['last']}, received {client['received']}, "
                          f"duplicates {client['duplicates']}, gaps {client['gaps'][:3]}")
        if client["errors"]:
            issues.append(f"{client['name']}: errors {client['errors'][:2]}")
    return issues


def ws_caught_up(status_path: Path, head: int, timeout: float) -> tuple[bool, dict]:
    """Wait until every fast client holds `head` positions; return whether they did, and the status."""
    deadline = time.monotonic() + timeout
    while True:
        status = read_status(status_path)
        behind = [c["name"] for c in status["clients"].values() if c["last"] < head]
        if not behind and status["clients"]:
            return True, status
        if time.monotonic() > deadline:
            return False, status
        time.sleep(0.5)


def ws_totals(status: dict) -> dict:
    clients = status["clients"].values()
    total = {"live": sum(c["live"] for c in clients), "connects": sum(c["connects"] for c in clients)}
    for kind in ("closed", "silent", "voluntary", "failed"):
        total[kind] = sum(c["reconnects"][kind] for c in clients)
    total["lastLiveAt"] = max((c["last_live_at"] for c in clients), default=0.0)
    return total
