"""Who is asking: players (users), operators (staff users) and external agents (API keys)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from rest_framework import authentication, exceptions

from .models import Agent, AgentKey, PlayerToken

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


MAX_CREDENTIAL_LENGTH = 200


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_credential(kind: str) -> tuple[str, str, str]:
    """Return (secret, prefix, digest) of a fresh credential: `spk_…` agent keys, `spt_…` player tokens."""
    secret = f"{kind}_{secrets.token_urlsafe(32)}"
    return secret, secret[:12], key_digest(secret)


def issue_key(agent: Agent) -> str:
    """Create an API key for an agent and return it (the only time it is visible)."""
    key, prefix, digest = new_credential("spk")
    AgentKey.objects.create(agent=agent, prefix=prefix, digest=digest)
    return key


def issue_player_token(user) -> str:
    """Create an API token for a player and return it (the only time it is visible)."""
    token, prefix, digest = new_credential("spt")
    PlayerToken.objects.create(user=user, prefix=prefix, digest=digest)
    return token


class _HashedCredentialAuthentication(authentication.BaseAuthentication):
    """`Authorization: <keyword> <secret>`, looked up by the secret's SHA-256 (never stored itself)."""

    keyword = ""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(f"Malformed {self.keyword} header: expected '{self.keyword} <secret>'.")
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(f"Malformed {self.keyword}.") from None
        if len(secret) > MAX_CREDENTIAL_LENGTH or not secret.isprintable():
            raise exceptions.AuthenticationFailed(f"Malformed {self.keyword}.")
        principal = self.principal_for(key_digest(secret))
        if principal is None:
            raise exceptions.AuthenticationFailed(f"Unknown or revoked {self.keyword}.")
        return principal, secret

    def principal_for(self, digest: str):
        raise NotImplementedError("subclasses must implement principal_for()")

    def authenticate_header(self, request):
        return self.keyword


class PlayerTokenAuthentication(_HashedCredentialAuthentication):
    """`Authorization: Token <token>`: a player's API token (selfplay_player prints one)."""

    keyword = "Token"

    def principal_for(self, digest: str):
        row = (PlayerToken.objects.select_related("user")
               .filter(digest=digest, revoked_at__isnull=True, user__is_active=True).first())
        return row.user if row else None


class AgentKeyAuthentication(_HashedCredentialAuthentication):
    """`Authorization: AgentKey <key>`."""

    keyword = KEY_KEYWORD

    def principal_for(self, digest: str):
        agent_id = (AgentKey.objects.filter(digest=digest, revoked_at__isnull=True)
                    .values_list("agent_id", flat=True).first())
        return AgentPrincipal(agent_id=agent_id) if agent_id else None


def actor_of(user) -> str | None:
    """Return the log's actor for an authenticated principal, None for anonymous."""
    if isinstance(user, AgentPrincipal):
        return user.username
    if user is None or not user.is_authenticated:
        return None
    return f"{'operator' if user.is_staff else 'player'}:{user.get_username()}"
