"""One error shape for every API answer (DESIGN §5).

`{"error": {"code": "<snake_case>", "message": "<for a person>", "details": {…}}}`: views raise
`ApiError`; DRF's own exceptions, oversized bodies and unknown URLs are mapped here too, so a
client never sees an HTML page or a bare 500 from the API.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import DataError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

API_PREFIXES = ("/command", "/checkpoint", "/sync", "/projection", "/api/")


STATUS_OF_CODE = {
    "invalid": 400, "token_invalid": 400, "unauthenticated": 401, "forbidden": 403,
    "not_found": 404, "no_checkpoint": 404, "method_not_allowed": 405, "not_acceptable": 406,
    "conflict": 409, "checkpoint_corrupt": 409, "token_expired": 410, "rate_limited": 429,
    "unavailable": 503,
}


class CodedError(Exception):
    """A domain error that carries its DESIGN §5 code; the API renders it without translation.

    Services raise these (commands, checkpoints) whatever interface called them; HTTP views and
    the WebSocket consumer answer with `code`, `message` and `details` alike.
    """

    code = "invalid"
    retry_after: int | None = None

    def __init__(self, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.message, self.details = message, details or {}

    @property
    def status(self) -> int:
        return STATUS_OF_CODE[self.code]


class ApiError(exceptions.APIException):
    """An error answer with a DESIGN §5 code."""

    def __init__(self, code: str, message: str, status_code: int = 400, details: dict | None = None,
                 headers: dict | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status_code = code, message, status_code
        self.details = details or {}
        self.headers = headers or {}


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


_DRF_CODES = {
    exceptions.ParseError: ("invalid", status.HTTP_400_BAD_REQUEST),
    exceptions.ValidationError: ("invalid", status.HTTP_400_BAD_REQUEST),
    exceptions.UnsupportedMediaType: ("invalid", status.HTTP_400_BAD_REQUEST),
    exceptions.NotAuthenticated: ("unauthenticated", status.HTTP_401_UNAUTHORIZED),
    exceptions.AuthenticationFailed: ("unauthenticated", status.HTTP_401_UNAUTHORIZED),
    exceptions.PermissionDenied: ("forbidden", status.HTTP_403_FORBIDDEN),
    exceptions.NotFound: ("not_found", status.HTTP_404_NOT_FOUND),
    exceptions.MethodNotAllowed: ("method_not_allowed", status.HTTP_405_METHOD_NOT_ALLOWED),
    exceptions.NotAcceptable: ("not_acceptable", status.HTTP_406_NOT_ACCEPTABLE),
    exceptions.Throttled: ("rate_limited", status.HTTP_429_TOO_MANY_REQUESTS),
}


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: render every exception in the DESIGN §5 shape."""
    if isinstance(exc, ApiError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code,
                        headers=exc.headers)
    if isinstance(exc, CodedError):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status, headers=headers)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("invalid", "The request body is too large."), status=400)
    if isinstance(exc, DataError):
        # e.g. a NUL byte, which PostgreSQL text cannot hold: bad input, not a server fault.
        return Response(error_body("invalid", "The request holds characters or values that cannot be stored."),
                        status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response(error_body("unavailable", "The server could not answer; try again."), status=503)
    code, status_code = next(((c, s) for cls, (c, s) in _DRF_CODES.items() if isinstance(exc, cls)),
                             ("error", response.status_code))
    response.status_code = status_code
    details = exc.detail if isinstance(exc, exceptions.ValidationError) else {}
    if isinstance(details, list):
        details = {"non_field_errors": details}
    message = _message(exc)
    response.data = error_body(code, message, details)
    return response


def _message(exc) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "The request is invalid; see details."
    detail = getattr(exc, "detail", None)
    return str(detail) if detail else str(exc)


def _wants_json(request) -> bool:
    return request.path.startswith(API_PREFIXES)


def handler404(request, exception=None):
    if _wants_json(request):
        return JsonResponse(error_body("not_found", f"Nothing at {request.path}."), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if _wants_json(request):
        return JsonResponse(error_body("unavailable", "The server could not answer; try again."), status=503)
    from django.views.defaults import server_error

    return server_error(request)
