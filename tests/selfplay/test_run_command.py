"""`make run` (scripts/run.py) refuses clearly before starting anything, and manage.py follows it."""

import os
import socket
import subprocess
import sys

from tests.support.databases import REPO
from tests.support.ports import free_port


def run_script(*args: str, env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PORT")}
    return subprocess.run([sys.executable, *args], env={**clean, **env}, cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_a_busy_port_is_named_with_the_process_holding_it(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_script("scripts/run.py", env={"PORT": str(port), "SELFPLAY_VAR_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert f"port {port} is in use by pid {os.getpid()}" in result.stderr
    assert f"PORT={port + 1} make run" in result.stderr


def test_a_redis_url_that_does_not_answer_is_reported_and_never_started(tmp_path):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    result = run_script("scripts/run.py", env={"PORT": str(free_port()), "REDIS_URL": url,
                                               "SELFPLAY_VAR_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert f"Redis does not answer at REDIS_URL={url}" in result.stderr
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing was started there


def test_a_sqlite_database_in_a_new_folder_gets_its_folder(tmp_path):
    database = tmp_path / "deep" / "er" / "world.sqlite3"
    result = run_script("manage.py", "migrate", "--no-input", "-v", "0",
                        env={"DATABASE_URL": f"sqlite:///{database}", "SELFPLAY_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert database.exists()


def test_manage_py_uses_the_database_make_run_used(tmp_path):
    (tmp_path / "selfplay.env").write_text(f"# test\nDATABASE_URL=sqlite:///{tmp_path / 'daemon.sqlite3'}\n")
    code = "from django.conf import settings; print(settings.DATABASES['default']['NAME'])"
    result = run_script("manage.py", "shell", "-v", "0", "-c", code, env={"SELFPLAY_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "daemon.sqlite3")
    # An explicit DATABASE_URL still wins.
    other = run_script("manage.py", "shell", "-v", "0", "-c", code,
                       env={"SELFPLAY_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    assert other.stdout.strip() == str(tmp_path / "x.sqlite3")
