"""For `make test` and `make bench`: make sure Redis answers at REDIS_URL.

When REDIS_URL is not set and nothing answers at the default URL, a local redis-server is
started in the background (and left running for the next run; `make run` instead starts and
stops its own). A REDIS_URL that does not answer is reported, never started: it may name a
server someone else runs. Exit 0 when Redis answers, 1 with instructions when it cannot be had.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import redis


def answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


DEFAULT_URL = "redis://127.0.0.1:6379/0"


def main() -> int:
    url = os.environ.get("REDIS_URL", DEFAULT_URL)
    if answers(url):
        return 0
    if url != DEFAULT_URL:
        print(f"Redis does not answer at REDIS_URL={url}: start it, or unset REDIS_URL to use {DEFAULT_URL}.",
              file=sys.stderr)
        return 1
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    server = shutil.which("redis-server")
    if server is None:
        print(
            f"Redis does not answer at {url}.\n"
            "Install it (Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: "
            "`brew install redis`) or point REDIS_URL at a running server.",
            file=sys.stderr,
        )
        return 1
    var = Path(__file__).resolve().parent.parent / "var"
    var.mkdir(exist_ok=True)
    print(f"nothing answers at {url}: starting redis-server on {host}:{port} in the background "
          "(log in var/redis.log)")
    subprocess.run(
        [server, "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(port),
         "--save", "", "--appendonly", "no", "--dir", str(var), "--logfile", str(var / "redis.log")],
        check=True,
    )
    for _ in range(50):
        if answers(url):
            return 0
        time.sleep(0.1)
    print(f"redis-server was started but does not answer at {url}; see var/redis.log", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
