"""Celery beat for Selfplay: interval schedules on a fixed grid, and one beat at a time.

django-celery-beat's interval schedule counts each period from the moment the last one ran, so
beat fires on its own phase and drifts by a few milliseconds a firing; a tick due at
`epoch + n × interval` then runs up to an interval late, and the lateness slides through the
whole interval over time. `AlignedSchedule` fires at the multiples of its interval since the
Unix epoch instead (the dispatch task then times each region's tick to its own due moment).

A second beat would send every periodic task twice. `BeatLock` is a lease in Redis: the beat
that holds it renews it on every pass of its loop; any other beat stands by and takes over only
once the lease lapses (the holder crashed, or lost Redis for longer than the lease).

Run beat with `--scheduler agents.beat:AlignedScheduler`.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import socket
from datetime import datetime, timedelta

import redis
from celery import schedules
from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

from selfplay.redis_client import client_for

logger = logging.getLogger(__name__)


class AlignedSchedule(schedules.schedule):
    """An interval schedule due at every multiple of `run_every` since the Unix epoch.

    A firing up to `tolerance` seconds early counts for the coming grid moment: beat wakes a
    little early on purpose (its `adjust` drift), and should not spin until the exact instant.
    """

    tolerance = 0.02

    def _slot(self, moment: datetime) -> int:
        return math.floor((moment.timestamp() + self.tolerance) / self.seconds)

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        next_moment = (self._slot(self.maybe_make_aware(last_run_at)) + 1) * self.seconds
        return timedelta(seconds=next_moment - self.maybe_make_aware(self.now()).timestamp())

    def is_due(self, last_run_at: datetime) -> schedules.schedstate:
        now = self.maybe_make_aware(self.now())
        slot = self._slot(now)
        next_in = (slot + 1) * self.seconds - now.timestamp()
        if slot > self._slot(self.maybe_make_aware(last_run_at)):
            return schedules.schedstate(is_due=True, next=next_in)
        return schedules.schedstate(is_due=False, next=next_in)

    def __repr__(self) -> str:
        return f"<aligned freq: {self.human_seconds}>"


class AlignedEntry(ModelEntry):
    """A django-celery-beat entry whose interval schedule is aligned to the grid."""

    def __init__(self, model, app=None):
        super().__init__(model, app=app)
        if type(self.schedule) is schedules.schedule:
            self.schedule = AlignedSchedule(self.schedule.run_every, nowfun=self.schedule.nowfun,
                                            app=self.app)


class BeatLock:
    """A lease in Redis that only one beat holds; renewing it re-takes it if Redis lost it."""

    _TAKE = """
    local holder = redis.call('GET', KEYS[1])
    if holder == ARGV[1] or not holder then
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return 1
    end
    return 0
    """
    _RELEASE = """
    if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
    return 0
    """

    def __init__(self, url: str, *, key: str, ttl_seconds: float, token: str | None = None) -> None:
        self.client = client_for(url, timeout=1)
        self.key = key
        self.ttl_ms = int(ttl_seconds * 1000)
        self.token = token or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    def hold(self) -> bool:
        """Take or renew the lease; return whether this beat holds it (False if Redis is away)."""
        return bool(self.client.eval(self._TAKE, 1, self.key, self.token, self.ttl_ms))

    def holder(self) -> str | None:
        value = self.client.get(self.key)
        return value.decode() if value is not None else None

    def release(self) -> None:
        self.client.eval(self._RELEASE, 1, self.key, self.token)


def beat_lock() -> BeatLock:
    return BeatLock(settings.REDIS_URL, key=f"{settings.SELFPLAY_REDIS_PREFIX}:beat:lock",
                    ttl_seconds=settings.SELFPLAY_BEAT_LOCK_TTL_SECONDS)


class AlignedScheduler(DatabaseScheduler):
    """django-celery-beat's DatabaseScheduler with grid-aligned intervals and a single-beat lease."""

    Entry = AlignedEntry
    #: How often a beat without the lease asks for it again.
    standby_poll_seconds = 1.0

    def __init__(self, *args, **kwargs):
        self.lock = beat_lock()
        self._holding: bool | None = None
        super().__init__(*args, **kwargs)
        # Never sleep through a lease renewal.
        self.max_interval = min(self.max_interval, settings.SELFPLAY_BEAT_LOCK_TTL_SECONDS / 3)

    def tick(self, *args, **kwargs):
        if not self._hold_lock():
            return self.standby_poll_seconds
        return super().tick(*args, **kwargs)

    def _hold_lock(self) -> bool:
        try:
            holding = self.lock.hold()
            reason = "" if holding else f"held by {self.lock.holder()}"
        except redis.RedisError as exc:
            holding, reason = False, f"Redis unavailable: {exc}"
        if holding != self._holding:
            if holding:
                logger.warning("beat %s holds the beat lock %s; sending periodic tasks",
                               self.lock.token, self.lock.key)
            else:
                logger.warning("beat %s does not hold the beat lock (%s); standing by, sending nothing",
                               self.lock.token, reason)
            self._holding = holding
        return holding

    def close(self):
        try:
            if self._holding:
                self.lock.release()
        except redis.RedisError:
            pass  # the lease lapses on its own
        super().close()
