"""Bounded HTTP for the capabilities that reach the network: a timeout, a byte cap, no proxy from
the environment, and redirects followed only to hosts the caller allows."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .base import REFUSED, TIMEOUT, TOO_LARGE, CapabilityFailed


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes


def host_of(url: str) -> tuple[str, str]:
    """Return (host, host:port) of an http(s) URL, lowercased, or fail `refused`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CapabilityFailed(REFUSED, "only http and https URLs with a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise CapabilityFailed(REFUSED, "bad port") from exc
    host = parts.hostname.lower()
    return host, f"{host}:{port}"


def _redirects_checked_by(allowed: Callable[[str], bool]) -> type[urllib.request.HTTPRedirectHandler]:
    class Checked(urllib.request.HTTPRedirectHandler):
        max_redirections = 3

        def redirect_request(self, req, fp, code, msg, headers, newurl):
            if not allowed(newurl):
                raise CapabilityFailed(REFUSED, "redirected to a host off the allowlist")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    return Checked


def fetch(url: str, *, allowed: Callable[[str], bool], timeout: float, max_bytes: int,
          method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None) -> Response:
    """Send one request; return the response (any status), or fail timeout/refused/too_large.

    Error messages never include the request's headers: they may hold a credential.
    """
    if not allowed(url):
        raise CapabilityFailed(REFUSED, "host not on the allowlist")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _redirects_checked_by(allowed))
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        try:
            answer = opener.open(request, timeout=timeout)
        except urllib.error.HTTPError as error:
            answer = error  # a 4xx/5xx is an answer too
        with answer:
            data = answer.read(max_bytes + 1)
            status = answer.status if hasattr(answer, "status") else answer.code
            content_type = answer.headers.get("Content-Type", "")
    except CapabilityFailed:
        raise
    except TimeoutError as exc:
        raise CapabilityFailed(TIMEOUT, "no answer in time") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError | socket.timeout):
            raise CapabilityFailed(TIMEOUT, "no answer in time") from exc
        raise CapabilityFailed(REFUSED, f"could not connect: {type(exc.reason).__name__}") from exc
    except (OSError, ValueError) as exc:
        raise CapabilityFailed(REFUSED, f"request failed: {type(exc).__name__}") from exc
    if len(data) > max_bytes:
        raise CapabilityFailed(TOO_LARGE, f"answer longer than {max_bytes} bytes")
    return Response(status, content_type, data)
