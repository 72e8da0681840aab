"""`read_public(url)`: GET a page from an allowlisted host (SELFPLAY_READ_PUBLIC_HOSTS)."""

from __future__ import annotations

from django.conf import settings

from ..base import Capability, Request, string_arg
from ..http import fetch, host_of


def allowlisted(url: str) -> bool:
    """Whether the URL's host (or host:port) is in SELFPLAY_READ_PUBLIC_HOSTS."""
    try:
        host, host_port = host_of(url)
    except Exception:
        return False
    allowed = {entry.lower() for entry in settings.SELFPLAY_READ_PUBLIC_HOSTS}
    return host in allowed or host_port in allowed


class ReadPublic(Capability):
    description = "GET args.url from an allowlisted host; returns status, contentType and the text"

    def start(self) -> None:
        if not settings.SELFPLAY_READ_PUBLIC_HOSTS:
            raise RuntimeError("SELFPLAY_READ_PUBLIC_HOSTS is empty: no host may be read")

    def perform(self, request: Request) -> dict:
        url = string_arg(request, "url", max_chars=2000)
        answer = fetch(url, allowed=allowlisted, timeout=settings.SELFPLAY_CAPABILITY_HTTP_TIMEOUT_SECONDS,
                       max_bytes=settings.SELFPLAY_READ_MAX_BYTES)
        return {"status": answer.status, "contentType": answer.content_type[:100],
                "text": answer.body.decode("utf-8", errors="replace")}
