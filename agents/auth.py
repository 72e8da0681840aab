"""Who is asking: players (users), operators (staff users) and external agents (API keys)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from rest_framework import authentication, exceptions

from .models import Agent, AgentKey

KEY_KEYWORD = "AgentKey"


@dataclass(frozen=True)
class AgentPrincipal:
    """An external agent authenticated by its API key; stands in for `request.user`."""

    agent_id: str
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_staff: bool = False
    is_active: bool = True

    @property
    def username(self) -> str:
        return f"agent:{self.agent_id}"


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str, str]:
    """Return (key, prefix, digest) for a fresh agent key."""
    key = f"spk_{secrets.token_urlsafe(32)}"
    return key, key[:12], key_digest(key)


def issue_key(agent: Agent) -> str:
    """Create an API key for an agent and return it (the only time it is visible)."""
    key, prefix, digest = new_key()
    AgentKey.objects.create(agent=agent, prefix=prefix, digest=digest)
    return key


class PlayerTokenAuthentication(authentication.TokenAuthentication):
    """DRF's `Authorization: Token <key>`, refusing malformed keys before they reach the database."""

    def authenticate_credentials(self, key):
        if not (len(key) == 40 and all(c in "0123456789abcdef" for c in key)):
            raise exceptions.AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(key)


class AgentKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: AgentKey <key>`."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != KEY_KEYWORD.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed AgentKey header: expected 'AgentKey <key>'.")
        try:
            key = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Malformed agent key.") from None
        row = (AgentKey.objects.filter(digest=key_digest(key), revoked_at__isnull=True)
               .values_list("agent_id", flat=True).first())
        if row is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked agent key.")
        return AgentPrincipal(agent_id=row), key

    def authenticate_header(self, request):
        return KEY_KEYWORD


def actor_of(user) -> str | None:
    """Return the log's actor for an authenticated principal, None for anonymous."""
    if isinstance(user, AgentPrincipal):
        return user.username
    if user is None or not user.is_authenticated:
        return None
    return f"{'operator' if user.is_staff else 'player'}:{user.get_username()}"
