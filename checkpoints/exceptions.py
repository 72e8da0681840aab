"""Errors of the checkpoint manager; each carries the DESIGN §5 code a client sees."""

from __future__ import annotations

from selfplay.errors import SelfplayError


class CheckpointError(SelfplayError):
    """Base class: a `code`, a message for a person and machine-readable details."""

    code = "invalid"


class InvalidRequest(CheckpointError):
    """A parameter out of range or malformed."""

    code = "invalid"


class NoCheckpoint(CheckpointError):
    """The stream has no checkpoint (yet), or does not exist."""

    code = "no_checkpoint"


class TokenInvalid(CheckpointError):
    """A token that is forged, malformed, of another version, or names nothing we know."""

    code = "token_invalid"


class TokenExpired(CheckpointError):
    """A genuine token past its `expiresAt`."""

    code = "token_expired"


class CheckpointCorrupt(CheckpointError):
    """A checkpoint whose stored state is gone or no longer matches its checksum."""

    code = "checkpoint_corrupt"


class StateUnavailable(CheckpointError):
    """The backend holding checkpoint states cannot be reached just now."""

    code = "unavailable"
