"""Which clients use which checkpoint tokens, kept in Redis with expiries (DESIGN §7 continuity).

Every `/sync` may come from an anonymous reader, so nothing here grows with their number:
a token's recent sessions, a session's lineage and the "already reported" markers all expire
(SELFPLAY_TOKEN_SHARED_WINDOW_SECONDS; a day for lineages). A flag reaches the log at most once
per token (or client) per window, and at most SELFPLAY_REQUEST_FLAGS_PER_HOUR times in all.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.crypto import salted_hmac

from selfplay import ratelimit, redis_client

logger = logging.getLogger(__name__)
LINEAGE_LENGTH = 50
LINEAGE_SECONDS = 24 * 3600
PENDING = "pending"


def session_ref(session_id: str) -> str:
    """Return the name the log and the admin give a client session: a keyed digest of the id it
    sent, so the public verification stream never shows a client's own session id."""
    return "s" + salted_hmac("selfplay.session", session_id, algorithm="sha256").hexdigest()[:20]


def note_use(*, session_id: str, token_key: str, now: float) -> int:
    """Record that `session_id` used the token `token_key` at `now` (epoch seconds); return how
    many other sessions used it within the window."""
    window = settings.SELFPLAY_TOKEN_SHARED_WINDOW_SECONDS
    users, lineage_key = redis_client.key("tokens", token_key), redis_client.key("lineage", session_id)
    checkpoint_id = token_key.partition("|")[0]
    client = redis_client.client()
    # One MULTI per key: on a Redis Cluster the two keys live in different slots (and a cluster
    # client's pipeline is a MULTI only when asked).
    with client.pipeline(transaction=True) as pipe:
        pipe.zadd(users, {session_id: now})
        pipe.zremrangebyscore(users, "-inf", now - window)
        pipe.zcard(users)
        pipe.expire(users, window)
        count = pipe.execute()[2]
    newest = client.lindex(lineage_key, 0)
    if newest is None or newest.decode() != checkpoint_id:
        with client.pipeline(transaction=True) as pipe:
            pipe.lpush(lineage_key, checkpoint_id)
            pipe.ltrim(lineage_key, 0, LINEAGE_LENGTH - 1)
            pipe.expire(lineage_key, LINEAGE_SECONDS)
            pipe.execute()
    return int(count) - 1


def claim_report(kind: str, key: str) -> str | None:
    """Claim the one report of `kind` about `key` in this window.

    Return None when the caller won it (and should raise the flag), else what the winner left:
    the id of the flag it raised, or PENDING while it is raising it.
    """
    marker = redis_client.key("reported", kind, key)
    client = redis_client.client()
    if client.set(marker, PENDING, nx=True, ex=settings.SELFPLAY_TOKEN_SHARED_WINDOW_SECONDS):
        return None
    existing = client.get(marker)
    return existing.decode() if existing else PENDING


def remember_report(kind: str, key: str, flag_id: str) -> None:
    """Name the flag raised for `key`, so later sightings in the window update it."""
    redis_client.client().set(redis_client.key("reported", kind, key), flag_id, xx=True, keepttl=True)


def lineage(session_id: str) -> list[str]:
    """Return the checkpoint ids a session's tokens named, oldest first (the last day, up to 50)."""
    try:
        newest_first = redis_client.client().lrange(redis_client.key("lineage", session_id), 0, -1)
    except redis_client.ERRORS:
        return []
    return [item.decode() for item in reversed(newest_first)]


def within_flag_budget() -> bool:
    """Count a flag raised on behalf of a request; False once SELFPLAY_REQUEST_FLAGS_PER_HOUR is spent."""
    decision = ratelimit.hit("flags:requests", limit=settings.SELFPLAY_REQUEST_FLAGS_PER_HOUR, window_seconds=3600)
    if decision.count == decision.limit + 1:
        logger.warning("%d flags raised for requests this hour; more are dropped until it ends", decision.limit)
    return decision.allowed
