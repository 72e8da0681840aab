"""Fixed-window rate limits counted atomically in Redis, shared by every process.

Commands have a hard per-actor limit (refused when Redis cannot count them: DESIGN §5); reads
have a per-client limit (the actor when authenticated, else the client's address) that lets a
request through when Redis is down, since the world stays public to watch during an outage.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from . import redis_client

logger = logging.getLogger(__name__)

# INCR and the window's expiry in one step: concurrent requests can never both see "first hit"
# and each extend the window, and a key can never be left without an expiry. One key per script,
# so on a Redis Cluster it runs on the master of that key's slot and buckets spread over masters.
_HIT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


class RateLimitUnavailable(Exception):
    """Redis could not be asked."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # whole seconds until the window resets


def hit(bucket: str, *, limit: int, window_seconds: int) -> Decision:
    """Count one use of `bucket` and say whether it is within `limit` per window."""
    try:
        count, ttl_ms = redis_client.client().eval(
            _HIT, 1, redis_client.key("ratelimit", bucket), window_seconds * 1000)
    except redis_client.ERRORS as exc:
        raise RateLimitUnavailable(str(exc)) from exc
    return Decision(int(count) <= limit, int(count), limit, max(1, math.ceil(int(ttl_ms) / 1000)))


def refund(bucket: str) -> None:
    """Give back one use of `bucket` (a request that turned out to cost nothing)."""
    try:
        redis_client.client().decr(redis_client.key("ratelimit", bucket))
    except redis_client.ERRORS:
        logger.warning("rate limit: could not refund %s", bucket)


class ClientReadThrottle(BaseThrottle):
    """DRF throttle for reads: SELFPLAY_READ_RATE_LIMIT per SELFPLAY_READ_RATE_WINDOW_SECONDS per client.

    The client is the actor when authenticated, else its address as DRF's `get_ident` sees it
    (REST_FRAMEWORK["NUM_PROXIES"] says how many proxies' X-Forwarded-For entries to trust).
    """

    decision: Decision | None = None

    def allow_request(self, request, view) -> bool:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            return True  # writes have their own limits
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            ident = f"actor:{user.username}"  # a player's name, or agent:<id> for an agent key
        else:
            ident = f"ip:{self.get_ident(request)}"
        try:
            self.decision = hit(f"reads:{ident}", limit=settings.SELFPLAY_READ_RATE_LIMIT,
                                window_seconds=settings.SELFPLAY_READ_RATE_WINDOW_SECONDS)
        except RateLimitUnavailable as exc:
            logger.warning("read rate limit unavailable (%s); letting the request through", exc)
            return True
        return self.decision.allowed

    def wait(self) -> float | None:
        return self.decision.retry_after if self.decision else None
