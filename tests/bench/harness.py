"""Shared bench plumbing: fresh SQLite files with the project's schema, and the BENCH line."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection

BENCH_DIR = Path(settings.VAR_DIR) / "bench"


@dataclass
class Result:
    name: str
    ours: float
    baseline: float
    unit: str
    higher_is_better: bool = True

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline

    def line(self) -> str:
        return (f"BENCH {self.name} ours={self.ours:.6g} baseline={self.baseline:.6g} "
                f"ratio={self.ratio:.3f} unit={self.unit}")


def use_fresh_database(name: str) -> Path:
    """Point Django's default connection at a new migrated SQLite file and return its path."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"{name}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    connection.close()
    connection.settings_dict["NAME"] = str(path)
    call_command("migrate", verbosity=0, interactive=False)
    return path


def baseline_database(name: str, schema_from: Path) -> sqlite3.Connection:
    """Open a plain sqlite3 file with the same schema (tables, indexes, triggers) and PRAGMAs."""
    path = BENCH_DIR / f"{name}-baseline.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(schema_from) as source:
        schema = [sql for (sql,) in source.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
            "ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END")]
    db = sqlite3.connect(path, isolation_level=None, timeout=settings.SQLITE_BUSY_TIMEOUT_SECONDS)
    for pragma in settings.DATABASES["default"]["OPTIONS"]["init_command"].split(";"):
        if pragma.strip():
            db.execute(pragma)
    for sql in schema:
        db.execute(sql)
    return db


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
