"""`read_authenticated(service, scope)`: GET a configured service with a credential from the
environment (SELFPLAY_CREDENTIAL_<SERVICE>_<SCOPE>).

The credential goes only into the request's Authorization header: never into an event, a log
line or an error message (every failure is a bare code).
"""

from __future__ import annotations

import os

from django.conf import settings

from ..base import INVALID, REFUSED, Capability, CapabilityFailed, Request, string_arg
from ..http import fetch


def credential_variable(service: str, scope: str) -> str:
    """Return the environment variable that holds the credential for a service and scope."""
    return f"SELFPLAY_CREDENTIAL_{service}_{scope}".upper().replace("-", "_")


class ReadAuthenticated(Capability):
    description = "GET a configured service (SELFPLAY_AUTH_SERVICES) with a credential from the environment"

    def perform(self, request: Request) -> dict:
        service = string_arg(request, "service", max_chars=64)
        scope = string_arg(request, "scope", max_chars=64)
        config = settings.SELFPLAY_AUTH_SERVICES.get(service)
        if config is None or scope not in config.get("scopes", ()):
            raise CapabilityFailed(INVALID, "unknown service or scope")
        secret = os.environ.get(credential_variable(service, scope))
        if not secret:
            raise CapabilityFailed(REFUSED, "no credential configured for that service and scope")
        url = config["url"].format(scope=scope)
        answer = fetch(url, allowed=lambda target: target == url or target.startswith(url.rstrip("/") + "/"),
                       timeout=settings.SELFPLAY_CAPABILITY_HTTP_TIMEOUT_SECONDS,
                       max_bytes=settings.SELFPLAY_READ_MAX_BYTES,
                       headers={"Authorization": f"Bearer {secret}"})
        text = answer.body.decode("utf-8", errors="replace")
        if secret in text:
            # A service that echoes the credential back must not get it into the log.
            text = text.replace(secret, "[credential]")
        return {"status": answer.status, "text": text}
