"""The one place Selfplay makes redis-py clients: shared per URL, with short timeouts.

A request that needs Redis (a rate limit, a checkpoint state) should fail fast when Redis is
down rather than hang a web worker; redis-py reconnects by itself once the server is back.

`SELFPLAY_REDIS_STATE_URL` (default: `REDIS_URL`) holds Selfplay's own keys: rate limits,
checkpoint states, client token lineage. It may name a Redis Cluster,
`redis+cluster://host1:port1,host2:port2/` (any reachable masters; the client discovers the
rest and follows MOVED/ASK redirections). Every script and MULTI Selfplay runs touches keys of
one slot only: a single key, or keys that share a `{hash tag}`.
"""

from __future__ import annotations

from functools import cache
from urllib.parse import unquote, urlsplit

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException

SOCKET_TIMEOUT_SECONDS = 5
CONNECT_TIMEOUT_SECONDS = 2
CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}  # scheme: TLS
# What a Redis call may raise: redis-py's cluster client reports a cluster it cannot reach (or a
# slot no node serves) with RedisClusterException, which is not a RedisError.
ERRORS = (redis.RedisError, RedisClusterException)


def is_cluster_url(url: str) -> bool:
    return urlsplit(url).scheme in CLUSTER_SCHEMES


def cluster_nodes(url: str) -> list[tuple[str, int]]:
    """Return the (host, port) startup nodes of a `redis+cluster://h1:p1,h2:p2/` URL."""
    netloc = urlsplit(url).netloc.rpartition("@")[2]
    nodes = []
    for item in filter(None, (part.strip() for part in netloc.split(","))):
        host, colon, port = item.rpartition(":")
        if not colon:
            host, port = item, "6379"
        try:
            nodes.append((host.strip("[]"), int(port)))
        except ValueError:
            raise ImproperlyConfigured(f"Redis Cluster URL {url!r}: {item!r} is not host:port") from None
    if not nodes:
        raise ImproperlyConfigured(f"Redis Cluster URL {url!r} names no node (redis+cluster://host:port,…)")
    return nodes


@cache
def client_for(url: str, *, timeout: float = SOCKET_TIMEOUT_SECONDS) -> redis.Redis | RedisCluster:
    """Return the shared client of a Redis URL (one per timeout: a beat renewing its lease wants
    to hear "unavailable" within a second); a `redis+cluster://` URL gives a RedisCluster."""
    options = {"socket_timeout": timeout, "socket_connect_timeout": min(timeout, CONNECT_TIMEOUT_SECONDS)}
    if not is_cluster_url(url):
        return redis.Redis.from_url(url, **options)
    parts = urlsplit(url)
    if parts.username:
        options["username"] = unquote(parts.username)
    if parts.password:
        options["password"] = unquote(parts.password)
    return RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in cluster_nodes(url)],
                        ssl=CLUSTER_SCHEMES[parts.scheme], **options)


def state_url() -> str:
    """Return the URL of the Redis that holds Selfplay's own keys."""
    return getattr(settings, "SELFPLAY_REDIS_STATE_URL", None) or settings.REDIS_URL


def client() -> redis.Redis | RedisCluster:
    """Return the shared client of Selfplay's own keys (settings.SELFPLAY_REDIS_STATE_URL)."""
    return client_for(state_url())


def key(*parts: str) -> str:
    """Return a key under settings.SELFPLAY_REDIS_PREFIX (`selfplay:ratelimit:…`)."""
    return ":".join([settings.SELFPLAY_REDIS_PREFIX, *parts])


@receiver(setting_changed)
def _forget_clients(*, setting, **kwargs) -> None:
    if setting in ("REDIS_URL", "SELFPLAY_REDIS_STATE_URL"):
        client_for.cache_clear()
