"""Make sure Redis answers at REDIS_URL; start a local redis-server when one is installed.

Exit 0 when Redis answers, 1 with instructions when it cannot be had.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import redis

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def main() -> int:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if answers(url):
        return 0
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    server = shutil.which("redis-server")
    if host not in LOCAL_HOSTS or server is None:
        print(
            f"Redis does not answer at {url}.\n"
            "Install it (Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: "
            "`brew install redis`) or point REDIS_URL at a running server.",
            file=sys.stderr,
        )
        return 1
    var = Path(__file__).resolve().parent.parent / "var"
    var.mkdir(exist_ok=True)
    print(f"starting redis-server on {host}:{port} (log in var/redis.log)")
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
