"""Fresh, migrated databases for tests that run real processes against a shared database."""

from __future__ import annotations

import contextlib
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
                "PYTHONPATH": str(REPO)})
    env.update(extra)
    return env


def migrate(database_url: str) -> None:
    subprocess.run([sys.executable, str(REPO / "manage.py"), "migrate", "--no-input", "-v", "0"],
                   env=process_env(database_url), check=True, cwd=REPO, timeout=300)


@contextlib.contextmanager
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """Yield the URL of a new migrated database of this run's vendor; drop it afterwards."""
    if connection.vendor == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
        migrate(url)
        yield url
        return
    settings = connection.settings_dict
    admin_url = (f"postgresql://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
                 f"{settings['PORT'] or 5432}/postgres")
    name = f"selfplay_e2e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = admin_url.rsplit("/", 1)[0] + f"/{name}"
        migrate(url)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
