"""One error shape for every API answer (DESIGN §5), rendered for DRF.

Views and services raise `selfplay.errors.SelfplayError`; DRF's own exceptions, oversized bodies
and unknown URLs are mapped here too, so a client never sees an HTML page or a bare 500 from the API.
"""

from __future__ import annotations

import logging
import math

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import DataError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import SelfplayError, error_body

logger = logging.getLogger(__name__)

API_PREFIXES = ("/command", "/checkpoint", "/sync", "/projection", "/worlds/", "/api/")


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
    if isinstance(exc, SelfplayError):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return Response(exc.body(), status=exc.status, headers=headers)
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
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        details = {"retryAfter": math.ceil(exc.wait)}
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
