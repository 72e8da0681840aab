"""Signed checkpoint tokens (DESIGN §5): bearer capabilities to resync one stream.

A token is `django.core.signing.dumps(payload, salt=SALT, compress=False)` with the payload
`{version, streamId, agentId, checkpointId, position, checksum, issuedAt, expiresAt}`. Decoding
goes through `signing.loads`, which also accepts keys in SECRET_KEY_FALLBACKS, so rotating the
secret key keeps issued tokens valid until the old key is dropped.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.utils import timezone

from .exceptions import TokenExpired, TokenInvalid
from .models import Checkpoint
from .streams import agent_of
from .streams import check_stream_id as _check_stream_id

SALT = "selfplay.checkpoint"
VERSION = 1
DEFAULT_TTL_SECONDS = 24 * 3600
# A real token is about 400 characters; 1,024 leaves room and keeps any request naming one
# (percent-encoded, up to 12 bytes a character) within daphne's 16 KiB request line.
MAX_TOKEN_LENGTH = 1024
# What django.core.signing.dumps writes (no compression): payload:timestamp:signature, each
# URL-safe base64. Anything else is no token; a string of this shape may still be forged.
TOKEN_PATTERN = r"^[A-Za-z0-9_-]+:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$"
FIELDS = frozenset({"version", "streamId", "agentId", "checkpointId", "position", "checksum",
                    "issuedAt", "expiresAt"})
_MOMENT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z\Z")
_CHECKSUM_RE = re.compile(r"^[0-9a-f]{64}\Z")


@dataclass(frozen=True)
class TokenPayload:
    stream_id: str
    agent_id: str | None
    checkpoint_id: str
    position: int
    checksum: str
    issued_at: datetime
    expires_at: datetime

    def to_dict(self) -> dict:
        return {
            "version": VERSION, "streamId": self.stream_id, "agentId": self.agent_id,
            "checkpointId": self.checkpoint_id, "position": self.position, "checksum": self.checksum,
            "issuedAt": format_moment(self.issued_at), "expiresAt": format_moment(self.expires_at),
        }


def format_moment(moment: datetime) -> str:
    """Format an aware datetime as ISO-8601 UTC to the microsecond: `2026-11-26T12:00:00.000000Z`.

    Microseconds, so that two clients given the latest checkpoint's token in the same second get
    two tokens: one token seen from two sessions means it was shared (verification)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_moment(text: object) -> datetime:
    """Parse what `format_moment` writes (or wrote, to the second); raise ValueError on anything else."""
    if not isinstance(text, str) or not _MOMENT_RE.match(text):
        raise ValueError(f"not an ISO-8601 UTC moment like 2026-11-26T12:00:00.000000Z: {text!r}")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ" if "." in text else "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def ttl_seconds() -> int:
    return int(getattr(settings, "SELFPLAY_TOKEN_TTL_SECONDS", DEFAULT_TTL_SECONDS))


def issue_token(checkpoint: Checkpoint, *, now: datetime | None = None) -> tuple[str, TokenPayload]:
    """Return a signed token for a checkpoint, valid for SELFPLAY_TOKEN_TTL_SECONDS, and its payload."""
    issued = (now or timezone.now()).astimezone(UTC)
    payload = TokenPayload(
        stream_id=checkpoint.stream_id, agent_id=agent_of(checkpoint.stream_id),
        checkpoint_id=str(checkpoint.pk), position=checkpoint.position, checksum=checkpoint.checksum,
        issued_at=issued, expires_at=issued + timedelta(seconds=ttl_seconds()),
    )
    # Retention keeps a checkpoint while a token naming it lives; marking it costs one UPDATE a
    # minute at most, however often the page asks for a fresh token.
    if checkpoint.token_issued_at is None or issued - checkpoint.token_issued_at >= timedelta(minutes=1):
        Checkpoint.objects.filter(pk=checkpoint.pk).update(token_issued_at=issued)
        checkpoint.token_issued_at = issued
    return signing.dumps(payload.to_dict(), salt=SALT, compress=False), payload


def decode_token(token: str, *, now: datetime | None = None) -> TokenPayload:
    """Return a token's payload; raise TokenInvalid (forged, malformed) or TokenExpired."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise TokenInvalid("The token is malformed.", {"reason": "malformed"})
    try:
        raw = signing.loads(token, salt=SALT)
    except signing.BadSignature as exc:
        raise TokenInvalid("The token's signature is not valid.", {"reason": "bad_signature"}) from exc
    except (ValueError, UnicodeError, TypeError) as exc:
        raise TokenInvalid("The token is malformed.", {"reason": "malformed"}) from exc
    payload = _parse(raw)
    if payload.expires_at - payload.issued_at > timedelta(seconds=ttl_seconds()):
        # Only a forger picks its own expiry; a genuine token never lives longer than the TTL.
        raise TokenInvalid("The token claims a longer life than tokens are given.", {"reason": "lifetime"})
    if (now or timezone.now()) >= payload.expires_at:
        raise TokenExpired("The token has expired; ask /checkpoint/latest for a new one.",
                           {"expiresAt": format_moment(payload.expires_at)})
    return payload


def _parse(raw: object) -> TokenPayload:
    if not isinstance(raw, dict) or set(raw) != FIELDS:
        raise TokenInvalid("The token's payload is malformed.", {"reason": "malformed"})
    version = raw["version"]
    if type(version) is not int or version != VERSION:
        raise TokenInvalid(f"Token version {version!r} is not supported (expected {VERSION}).",
                           {"reason": "unsupported_version"})
    try:
        stream_id = _check_stream_id(raw["streamId"])
        checkpoint_id = str(uuid.UUID(raw["checkpointId"]))
        if checkpoint_id != raw["checkpointId"] or raw["agentId"] != agent_of(stream_id):
            raise ValueError("not canonical")
        position = raw["position"]
        if type(position) is not int or position < 1:
            raise ValueError("bad position")
        if not isinstance(raw["checksum"], str) or not _CHECKSUM_RE.match(raw["checksum"]):
            raise ValueError("bad checksum")
        issued_at, expires_at = parse_moment(raw["issuedAt"]), parse_moment(raw["expiresAt"])
    except (ValueError, TypeError, AttributeError) as exc:
        raise TokenInvalid("The token's payload is malformed.", {"reason": "malformed"}) from exc
    return TokenPayload(stream_id, raw["agentId"], checkpoint_id, position, raw["checksum"],
                        issued_at, expires_at)
