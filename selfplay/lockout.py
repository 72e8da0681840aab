"""Login lockout (django-axes) counted in Redis, so an attacker's attempts expire instead of piling up.

django-axes' cache handler keeps one counter per username and address with the cool-off as its
expiry; failed logins with made-up usernames therefore leave nothing behind once it passes. When
Redis cannot be reached the attempt is let through to the password check (and logged): an
outage must not lock every operator out of the admin they need to see it.
"""

from __future__ import annotations

import logging

import redis
from axes.handlers.cache import AxesCacheHandler

logger = logging.getLogger(__name__)


class LockoutHandler(AxesCacheHandler):
    def get_failures(self, request, credentials=None) -> int:
        try:
            return super().get_failures(request, credentials)
        except redis.RedisError as exc:
            logger.warning("login lockout unavailable (Redis: %s); checking the password only", exc)
            return 0

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        try:
            return super().user_login_failed(sender, credentials, request, **kwargs)
        except redis.RedisError as exc:
            logger.warning("login failure not counted (Redis: %s)", exc)
            return None

    def user_logged_in(self, sender, request, user, **kwargs):
        try:
            return super().user_logged_in(sender, request, user, **kwargs)
        except redis.RedisError as exc:
            logger.warning("login lockout not reset (Redis: %s)", exc)
            return None
