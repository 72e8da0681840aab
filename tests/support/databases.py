"""Fresh, migrated databases for tests that run real processes against a shared database."""

from __future__ import annotations

import contextlib
import importlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from django.db import connection

REPO = Path(__file__).resolve().parents[2]


def process_env(database_url: str, **extra: str) -> dict[str, str]:
    """Return the environment for a child process of the project on the given database."""
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "selfplay.settings",
                "PYTHONPATH": str(REPO),
                # The tests read Celery's own lines (a task sent, received, discarded, done), which
                # a deployment leaves at WARNING.
                "SELFPLAY_CELERY_LOG_LEVEL": "INFO"})
    env.update(extra)
    return env


def migrate(database_url: str, *target: str, **env: str) -> None:
    """Migrate the database (to `target`, an app label and migration name, when given)."""
    subprocess.run([sys.executable, str(REPO / "manage.py"), "migrate", *target, "--no-input", "-v", "0"],
                   env=process_env(database_url, **env), check=True, cwd=REPO, timeout=300)


@contextlib.contextmanager
def fresh_database(tmp_path: Path, *, prefix: str = "selfplay_e2e", target: tuple[str, ...] = (),
                   **env: str) -> Iterator[str]:
    """Yield the URL of a new migrated database of this run's vendor; drop it afterwards.

    `target` ("events", "0008") stops the migration there; `env` is its environment
    (SELFPLAY_EVENT_PARTITION_SIZE, say)."""
    if connection.vendor == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
        migrate(url, *target, **env)
        yield url
        return
    settings = connection.settings_dict
    admin_url = (f"postgresql://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
                 f"{settings['PORT'] or 5432}/postgres")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = admin_url.rsplit("/", 1)[0] + f"/{name}"
        migrate(url, *target, **env)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


APPEND_ONLY_MIGRATIONS = ("events.migrations.0002_append_only_triggers",
                          "events.migrations.0004_anchors_and_forward_only_heads")


def flush_past_append_only_triggers() -> None:
    """Empty the test database, the log included, and put the append-only triggers back.

    A transactional test (no test transaction to roll back) ends with Django's flush; on SQLite
    that DELETEs, which the log's triggers refuse. PostgreSQL's flush TRUNCATEs, which row
    triggers do not see.
    """
    from django.core.management import call_command

    if connection.vendor != "sqlite":
        return
    migrations = [importlib.import_module(name) for name in APPEND_ONLY_MIGRATIONS]
    with connection.cursor() as cursor:
        for migration in migrations:
            for statement in migration.SQLITE_BACKWARD:
                cursor.execute(statement)
    try:
        call_command("flush", verbosity=0, interactive=False)
    finally:
        with connection.cursor() as cursor:
            for migration in migrations:
                for statement in migration.SQLITE_FORWARD:
                    cursor.execute(statement)
