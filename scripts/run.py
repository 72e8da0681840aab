"""`make run`: the daemon, the web server and a demo world, in the foreground until Ctrl-C.

Checks before it starts anything: the port is free (else it says which process holds it) and
Redis answers at REDIS_URL (when REDIS_URL is not set and nothing answers at the default, it
starts a redis-server of its own and stops it again on Ctrl-C). It writes the environment it
runs with to var/selfplay.env, which manage.py reads, so `manage.py …` afterwards talks to the
same database. Ctrl-C, or SIGTERM to this process alone, stops daphne, the workers and beat, and
ends with exit status 0.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("SELFPLAY_VAR_DIR", REPO / "var"))
BIN = Path(sys.executable).parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
ENV_FILE = VAR / "selfplay.env"
CARRIED = ("DATABASE_URL", "REDIS_URL", "SELFPLAY_VAR_DIR", "DJANGO_SECRET_KEY", "SELFPLAY_SIM_TICK_SECONDS",
           "SELFPLAY_PLAN_TICK_SECONDS")


class Interrupted(Exception):
    """Ctrl-C or SIGTERM while `make run` is still setting up."""


def fail(message: str) -> None:
    print(f"make run: {message}", file=sys.stderr)
    sys.exit(1)


def port_holder(port: int) -> str | None:
    """Return who listens on a TCP port ("pid 123: daphne -b …"), "another process" if unknown, or None."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            return None
        except OSError:
            pass
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in {f"socket:[{inode}]" for inode in inodes}:
                    command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                    return f"pid {proc.name}: {command[:120]}"
        except OSError:
            continue
    return "another process (not one this user can see)"


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def start_redis(url: str) -> subprocess.Popen:
    """Start a redis-server for the default URL, in the foreground of this run (it stops with it)."""
    server = shutil.which("redis-server")
    if server is None:
        fail(f"Redis does not answer at {url}, and redis-server is not installed "
             "(Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`).")
    parsed = urlparse(url)
    log = VAR / "redis.log"
    print(f"make run: nothing answers at {url}; starting redis-server on port {parsed.port} "
          f"(log in {log}; it stops with Ctrl-C)")
    process = subprocess.Popen([server, "--bind", "127.0.0.1", "--port", str(parsed.port), "--save", "",
                                "--appendonly", "no", "--logfile", str(log)], start_new_session=True)
    for _ in range(50):
        if redis_answers(url):
            return process
        time.sleep(0.1)
    process.terminate()
    fail(f"redis-server was started but does not answer at {url}; see {log}")


def manage(*args: str, env: dict) -> None:
    result = subprocess.run([sys.executable, str(REPO / "manage.py"), *args], env=env, cwd=REPO)
    if result.returncode != 0:
        fail(f"`manage.py {' '.join(args)}` failed (exit {result.returncode}); see above")


def write_env_file(env: dict) -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    lines = [f"{key}={env[key]}" for key in CARRIED if env.get(key)]
    ENV_FILE.write_text("# Written by `make run`: manage.py reads it, so it uses the same database.\n"
                        + "\n".join(lines) + "\n")
    ENV_FILE.chmod(0o600)


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", f"sqlite:///{VAR / 'selfplay.sqlite3'}")
    if holder := port_holder(port):
        fail(f"port {port} is in use by {holder}. Stop it, or run on another port: PORT={port + 1} make run")

    own_redis = None
    redis_url = env.get("REDIS_URL")
    if redis_url is None:
        env["REDIS_URL"] = DEFAULT_REDIS_URL
        if not redis_answers(DEFAULT_REDIS_URL):
            own_redis = start_redis(DEFAULT_REDIS_URL)
    elif not redis_answers(redis_url):
        fail(f"Redis does not answer at REDIS_URL={redis_url}. Start it, or unset REDIS_URL to use "
             f"{DEFAULT_REDIS_URL} (started for you when nothing answers there).")

    honcho: subprocess.Popen | None = None
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True
        if honcho is None:
            raise Interrupted  # still setting up: start nothing
        # A Ctrl-C in the terminal reaches honcho too, but a `kill` of this process (a service
        # manager's stop, `timeout`) reaches only this one: pass it on, or the daemon outlives
        # its `make run`. honcho stops its processes once, however often it is told.
        honcho.send_signal(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    code = 0
    try:
        write_env_file(env)
        manage("migrate", "--no-input", env=env)
        manage("setup_periodic_tasks", env=env)
        # A new demo world's first tick is due 15 s from now, so no tick is late while the
        # daemon starts up.
        manage("selfplay_demo", "--starts-in", "15", "--scribes", "2", env=env)
        print(f"Selfplay on http://127.0.0.1:{port}/  (admin: /admin/, schema: /api/schema/, "
              f"local worlds: /local/) — Ctrl-C stops all", flush=True)
        honcho = subprocess.Popen([str(BIN / "honcho"), "start", "-f", str(REPO / "Procfile")],
                                  env={**env, "SELFPLAY_PORT": str(port)}, cwd=REPO)
        returncode = honcho.wait()
        # honcho exits 130 or 143 when told to stop: that is this command's clean end.
        code = 0 if stopping else returncode
    except Interrupted:
        print("make run: stopped before the daemon started", file=sys.stderr)
    finally:
        if own_redis is not None:
            own_redis.terminate()
            own_redis.wait(timeout=10)
            print("make run: stopped the redis-server it had started")
    if code:
        print(f"make run: the processes stopped (exit {code}); see their output above", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
