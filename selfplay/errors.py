"""The one error hierarchy of Selfplay, and its one rendering (DESIGN §5).

`{"error": {"code": "<snake_case>", "message": "<for a person>", "details": {…}}}` is what a
client sees over HTTP and the WebSocket, and what an operator reads in the admin. Services raise
a `SelfplayError` (or a subclass naming where it comes from) whatever interface called them;
`selfplay.api_errors` renders it for DRF, the stream's command handler and the admin actions
call `error_body` / `.message` on the same object.
"""

from __future__ import annotations

STATUS_OF_CODE = {
    "invalid": 400, "token_invalid": 400, "unauthenticated": 401, "forbidden": 403,
    "not_found": 404, "no_checkpoint": 404, "method_not_allowed": 405, "not_acceptable": 406,
    "conflict": 409, "checkpoint_corrupt": 409, "token_expired": 410,
    "idempotency_mismatch": 422, "rate_limited": 429, "unavailable": 503,
}


class SelfplayError(Exception):
    """An error with a DESIGN §5 code, a message for a person and machine-readable details."""

    code = "invalid"

    def __init__(self, message: str, details: dict | None = None, *, code: str | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message, self.details, self.retry_after = message, details or {}, retry_after
        if code is not None:
            self.code = code

    @property
    def status(self) -> int:
        return STATUS_OF_CODE[self.code]

    def body(self) -> dict:
        return error_body(self.code, self.message, self.details)


class Refused(SelfplayError):
    """A request refused with a code given where it is refused: `Refused("conflict", "…", {…})`."""

    def __init__(self, code: str, message: str, details: dict | None = None, retry_after: int | None = None):
        super().__init__(message, details, code=code, retry_after=retry_after)


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    """Return the DESIGN §5 error body; text echoed from the request is made safe to encode."""
    return {"error": {"code": code, "message": _printable(message), "details": _printable(details or {})}}


def _printable(value):
    """Replace what UTF-8 cannot encode (an unpaired surrogate sent by a client) with its escape."""
    if isinstance(value, str):
        return value if value.isascii() else value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_printable(str(k)): _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(item) for item in value]
    return value
