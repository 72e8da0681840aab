"""Error answers of the checkpoint endpoints in the DESIGN §5 shape.

`{"error": {"code": "<snake_case>", "message": "<for a person>", "details": {…}}}`. The views
render these themselves (see `ErrorRenderingMixin`), so their answers keep that shape whatever
the project-wide DRF exception handler does; once `selfplay.api_errors` is the handler for every
view, the mixin can go.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from .exceptions import CheckpointError

STATUS_OF_CODE = {
    "invalid": status.HTTP_400_BAD_REQUEST,
    "token_invalid": status.HTTP_400_BAD_REQUEST,
    "no_checkpoint": status.HTTP_404_NOT_FOUND,
    "checkpoint_corrupt": status.HTTP_409_CONFLICT,
    "token_expired": status.HTTP_410_GONE,
    "unavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
}

# DRF's own exceptions, by class: (code, status).
_DRF_CODES = [
    (exceptions.ValidationError, "invalid"),
    (exceptions.ParseError, "invalid"),
    (exceptions.NotAuthenticated, "unauthenticated"),
    (exceptions.AuthenticationFailed, "unauthenticated"),
    (exceptions.PermissionDenied, "forbidden"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.Throttled, "rate_limited"),
]


class ApiError(Exception):
    """An error answer: a DESIGN §5 code, a message, an HTTP status and details."""

    def __init__(self, code: str, message: str, status: int, details: dict | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.details = code, message, status, details or {}

    @classmethod
    def from_checkpoint_error(cls, error: CheckpointError) -> ApiError:
        return cls(error.code, error.message, STATUS_OF_CODE[error.code], error.details)


def error_response(code: str, message: str, status: int, details: dict | None = None,
                   headers: dict | None = None) -> Response:
    """Return a DRF Response carrying an error in the DESIGN §5 shape."""
    return Response({"error": {"code": code, "message": message, "details": details or {}}},
                    status=status, headers=headers)


def handle_exception(exc, context):
    """Render ApiError, checkpoint errors and DRF exceptions; let anything else propagate."""
    if isinstance(exc, CheckpointError):
        exc = ApiError.from_checkpoint_error(exc)
    if isinstance(exc, ApiError):
        return error_response(exc.code, exc.message, exc.status, exc.details)
    if isinstance(exc, exceptions.APIException):
        code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), "error")
        if isinstance(exc, exceptions.ValidationError):
            details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            message = "The request is invalid; see details."
        else:
            details, message = {}, str(exc.detail)
        headers = {}
        if getattr(exc, "wait", None) is not None:
            headers["Retry-After"] = str(int(exc.wait))
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            exc.status_code = status.HTTP_401_UNAUTHORIZED
        return error_response(code, message, exc.status_code, details, headers)
    return None


class ErrorRenderingMixin:
    """Make an APIView render its errors with `handle_exception` above."""

    def get_exception_handler(self):
        return handle_exception


ErrorSerializer = inline_serializer(
    name="CheckpointErrorAnswer",
    fields={"error": inline_serializer(name="CheckpointErrorBody", fields={
        "code": serializers.CharField(help_text="snake_case, e.g. invalid, token_invalid, token_expired"),
        "message": serializers.CharField(help_text="for a person"),
        "details": serializers.DictField(help_text="machine-readable specifics, e.g. {\"reason\": …}"),
    })},
)


def error_doc(description: str, *examples: tuple[str, str, dict]) -> OpenApiResponse:
    """Document one error status: its meaning and an example per code it can carry."""
    return OpenApiResponse(ErrorSerializer, description=description, examples=[
        OpenApiExample(code, value={"error": {"code": code, "message": message, "details": details}},
                       response_only=True)
        for code, message, details in examples
    ])
