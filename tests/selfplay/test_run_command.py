"""`make run` (scripts/run.py) refuses clearly before starting anything, stops everything it started
when it is stopped, and manage.py follows it."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support.databases import REPO
from tests.support.ports import free_port, port_is_free
from tests.support.redis_server import private_redis


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


def processes_with(marker: str) -> list[int]:
    """Return the pids of this user's processes whose environment holds `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:  # gone meanwhile, or not ours
                continue
    return found


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.2)


def test_sigterm_to_make_run_alone_stops_every_process_it_started(tmp_path):
    """A service manager (or `timeout`) signals the process it started, not its terminal group:
    the web server, the workers and beat must stop with it."""
    port = free_port()
    marker = str(tmp_path / "var")  # SELFPLAY_VAR_DIR: every process make run starts inherits it
    with private_redis(tmp_path) as redis_server:
        clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PORT")}
        run = subprocess.Popen(
            [sys.executable, "scripts/run.py"], cwd=REPO, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**clean, "PORT": str(port), "REDIS_URL": redis_server.url, "SELFPLAY_VAR_DIR": marker,
                 "DATABASE_URL": f"sqlite:///{tmp_path / 'daemon.sqlite3'}"})
        try:
            wait_until(lambda: not port_is_free(port) or run.poll() is not None, 120, "the web server answers")
            assert run.poll() is None, run.stderr.read()
            started = processes_with(marker)
            assert len(started) >= 6, started  # run.py, honcho, daphne, three workers, beat (and their children)

            os.kill(run.pid, signal.SIGTERM)  # this process only: nothing else hears it
            assert run.wait(timeout=60) == 0, run.stderr.read()
            wait_until(lambda: not processes_with(marker), 30, f"every process stopped: {processes_with(marker)}")
            assert port_is_free(port)
        finally:
            for pid in processes_with(marker):
                os.kill(pid, signal.SIGKILL)
