"""A loopback HTTP server for the network capabilities' tests (no network beyond 127.0.0.1)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Loopback:
    port: int
    seen: list[Seen] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


# A route answers (status, headers, body) for a request, or sleeps first to time out.
Route = Callable[[Seen], tuple[int, dict[str, str], bytes]]


@contextlib.contextmanager
def loopback(routes: dict[str, Route]) -> Iterator[Loopback]:
    """Serve `routes` (by path, without the query) on a free loopback port in a thread."""
    server_ref: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
            server_ref["loopback"].seen.append(seen)
            route = routes.get(self.path.split("?", 1)[0])
            status, headers, body = route(seen) if route else (404, {}, b"not found")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server_ref["loopback"] = Loopback(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_ref["loopback"]
    finally:
        server.shutdown()
        server.server_close()


def text(body: str, status: int = 200, content_type: str = "text/plain") -> Route:
    return lambda seen: (status, {"Content-Type": content_type}, body.encode())


def slow(seconds: float) -> Route:
    def answer(seen):
        time.sleep(seconds)
        return 200, {}, b"late"
    return answer


def redirect(to: str) -> Route:
    return lambda seen: (302, {"Location": to}, b"")
