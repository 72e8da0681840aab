"""`post(service, content)`: a signed webhook to a configured service (SELFPLAY_POST_SERVICES).

The body is canonical JSON `{agentId, content, requestId}`, signed with HMAC-SHA256 under the
service's secret (`X-Selfplay-Signature: sha256=<hex>`), and sent with `Idempotency-Key:
<requestId>`: a request performed again after a worker died carries the same key, so a service
that honours the key applies it at most once.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from django.conf import settings

from selfplay.canonical import canonical_json

from ..base import INVALID, REFUSED, Capability, CapabilityFailed, Request, string_arg
from ..http import fetch

MAX_CONTENT_CHARS = 4000


def secret_of(service: str) -> str | None:
    """Return a service's signing secret: its `secret_env` variable, else its `secret` setting."""
    config = settings.SELFPLAY_POST_SERVICES.get(service) or {}
    return os.environ.get(config.get("secret_env", "")) or config.get("secret") or None


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class SignedWebhookPost(Capability):
    description = "POST args.content to a configured webhook, HMAC-signed, with Idempotency-Key = requestId"

    def perform(self, request: Request) -> dict:
        service = string_arg(request, "service", max_chars=64)
        content = string_arg(request, "content", max_chars=MAX_CONTENT_CHARS)
        config = settings.SELFPLAY_POST_SERVICES.get(service)
        if config is None:
            raise CapabilityFailed(INVALID, "unknown service")
        secret = secret_of(service)
        if not secret:
            raise CapabilityFailed(REFUSED, "no signing secret configured for that service")
        body = canonical_json({"agentId": request.agent_id, "content": content,
                               "requestId": request.request_id}).encode()
        url = config["url"]
        answer = fetch(url, allowed=lambda target: target == url, method="POST", body=body,
                       timeout=settings.SELFPLAY_CAPABILITY_HTTP_TIMEOUT_SECONDS, max_bytes=4096,
                       headers={"Content-Type": "application/json", "Idempotency-Key": request.request_id,
                                "X-Selfplay-Signature": signature(secret, body)})
        if not 200 <= answer.status < 300:
            raise CapabilityFailed(REFUSED, f"the service answered {answer.status}")
        return {"status": answer.status}
