"""A hard per-actor limit on commands: a fixed window counted atomically in Redis."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings

# INCR and the window's expiry in one step: concurrent requests can never both see "first hit"
# and each extend the window, and a key can never be left without an expiry.
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
    """Redis could not be asked; commands are refused rather than let through unlimited."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # whole seconds until the window resets


@cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


@cache
def _script():
    return _client().register_script(_HIT)


def hit(actor: str, *, limit: int | None = None, window_seconds: int | None = None) -> Decision:
    """Count one command for `actor` and say whether it is within the limit."""
    limit = settings.SELFPLAY_COMMAND_RATE_LIMIT if limit is None else limit
    window = settings.SELFPLAY_COMMAND_RATE_WINDOW_SECONDS if window_seconds is None else window_seconds
    key = f"{settings.SELFPLAY_REDIS_PREFIX}:ratelimit:commands:{actor}"
    try:
        count, ttl_ms = _script()(keys=[key], args=[window * 1000])
    except redis.RedisError as exc:
        raise RateLimitUnavailable(str(exc)) from exc
    return Decision(count <= limit, int(count), limit, max(1, math.ceil(int(ttl_ms) / 1000)))
