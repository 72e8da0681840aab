"""The WebSocket handshake's Origin check, made exactly as Django's CSRF origin check is.

Channels' AllowedHostsOriginValidator compares the Origin's host only, so a page served from
`http://localhost:3000` (another program on the same machine) could act with the player's
session cookie. Here an Origin is accepted when scheme, host and port equal those the socket
was opened on (`ws` → `http`, `wss` → `https`), or when it is listed in CSRF_TRUSTED_ORIGINS
(with their `*.example.com` subdomain wildcards), and the Host itself is an allowed host.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def origin_allowed(scope) -> bool:
    """Whether the handshake's Origin header may open a socket on this server."""
    origin, host = _header(scope, b"origin"), _header(scope, b"host")
    if not origin or origin == "null" or not host:
        return False
    domain, _ = split_domain_port(host)
    allowed_hosts = settings.ALLOWED_HOSTS or ([".localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
    if not domain or not validate_host(domain, allowed_hosts):
        return False
    scheme = "https" if scope.get("scheme") == "wss" or _secure_by_proxy(scope) else "http"
    if origin == f"{scheme}://{host}":
        return True
    trusted = settings.CSRF_TRUSTED_ORIGINS
    if origin in trusted:
        return True
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    # As CsrfViewMiddleware: "https://*.example.com" admits every subdomain over https.
    return any(
        urlsplit(pattern).scheme == parsed.scheme
        and is_same_domain(parsed.netloc, urlsplit(pattern).netloc.lstrip("*"))
        for pattern in trusted if "*" in pattern
    )


def _secure_by_proxy(scope) -> bool:
    header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not header:
        return False
    name, value = header
    # HTTP_X_FORWARDED_PROTO → x-forwarded-proto
    wanted = name.removeprefix("HTTP_").lower().replace("_", "-").encode()
    return _header(scope, wanted) == value


class OriginValidator:
    """ASGI middleware: refuse a WebSocket handshake whose Origin is not this site's."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)
