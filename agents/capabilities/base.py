"""The plugin contract: one class per capability, installed by dotted path (SELFPLAY_CAPABILITIES)."""

from __future__ import annotations

from dataclasses import dataclass

# Failure codes a request may end with (`capability.failed {requestId, code}`).
TIMEOUT = "timeout"
REFUSED = "refused"
TOO_LARGE = "too_large"
UNAVAILABLE = "unavailable"
BUDGET_EXHAUSTED = "budget_exhausted"
NOT_GRANTED = "not_granted"
INVALID = "invalid"
ERROR = "error"
CODES = (TIMEOUT, REFUSED, TOO_LARGE, UNAVAILABLE, BUDGET_EXHAUSTED, NOT_GRANTED, INVALID, ERROR)


class CapabilityFailed(Exception):
    """Raised by a plugin to end a request with one of CODES.

    Only the code is recorded: the message is for the worker's log and must never carry a
    credential or a secret.
    """

    def __init__(self, code: str, message: str = ""):
        if code not in CODES:
            raise ValueError(f"unknown capability failure code {code!r}; expected one of {', '.join(CODES)}")
        self.code = code
        super().__init__(message or code)


@dataclass(frozen=True)
class Request:
    """One recorded request, as a plugin receives it."""

    request_id: str
    agent_id: str
    region: str
    capability: str
    args: dict


class Capability:
    """Base class of capability plugins.

    Subclasses implement `perform`; they may override `start` to check their configuration
    (a plugin whose `start` raises is listed as unavailable with the reason, and its requests
    fail `unavailable`). `perform` runs in a worker, outside any database transaction; it returns
    a JSON object (the result) or raises CapabilityFailed. A plugin with an effect outside the
    daemon (post, notify) must make it at most once per `request.request_id`: a worker killed
    after the effect but before the result is recorded runs the request again.
    """

    #: What the capability does, for the admin and `selfplay_status`.
    description = ""

    def __init__(self, name: str):
        self.name = name

    def start(self) -> None:
        """Check the configuration; raise to be marked unavailable."""

    def perform(self, request: Request) -> dict:
        """Do what the request asks; return a JSON object or raise CapabilityFailed."""
        raise NotImplementedError("subclasses must implement perform()")


def string_arg(request: Request, name: str, *, max_chars: int) -> str:
    """Return a required string argument of the request, or fail `invalid`."""
    value = request.args.get(name)
    if type(value) is not str or not value:
        raise CapabilityFailed(INVALID, f"argument {name!r} must be a non-empty string")
    if len(value) > max_chars:
        raise CapabilityFailed(TOO_LARGE, f"argument {name!r} is longer than {max_chars} characters")
    return value
