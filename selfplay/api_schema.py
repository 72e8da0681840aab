"""Shared pieces of the OpenAPI schema: the DESIGN §5 error body, per status code."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={"error": inline_serializer(name="ErrorBody", fields={
        "code": serializers.CharField(help_text="snake_case, e.g. invalid, conflict, token_expired"),
        "message": serializers.CharField(help_text="for a person"),
        "details": serializers.DictField(),
    })},
)

_MEANING = {
    400: "invalid input (code `invalid`, or `token_invalid` for tokens)",
    401: "not authenticated (`unauthenticated`)",
    403: "not allowed (`forbidden`)",
    404: "no such thing (`not_found`, `no_checkpoint`)",
    409: "conflict (`conflict`, `checkpoint_corrupt`)",
    410: "expired (`token_expired`)",
    429: "rate limited (`rate_limited`, with Retry-After)",
    503: "unavailable (`unavailable`)",
}


def ERROR_RESPONSES(*codes: int) -> dict:  # noqa: N802 - reads as a constant table
    return {code: OpenApiResponse(ErrorSerializer, description=_MEANING[code]) for code in codes}


def error_doc(description: str, *examples: tuple[str, str, dict]) -> OpenApiResponse:
    """Document one error status: its meaning and an example per code it can carry."""
    return OpenApiResponse(ErrorSerializer, description=description, examples=[
        OpenApiExample(code, value={"error": {"code": code, "message": message, "details": details}},
                       response_only=True)
        for code, message, details in examples
    ])
