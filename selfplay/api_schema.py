"""Shared pieces of the OpenAPI schema: the DESIGN §5 error body, per status code, and events
as DESIGN §2 puts them on the wire."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema_field,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers

from events.types import STREAM_ID_PATTERN, InvalidStreamId, check_stream_id

# Positions and ticks travel through JavaScript numbers: a larger one is not ours.
MAX_POSITION = 2**53 - 1

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
    422: "an idempotencyKey reused with another body (`idempotency_mismatch`)",
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


@extend_schema_field({"type": "string", "pattern": STREAM_ID_PATTERN, "maxLength": 80,
                      "example": "world:meadow"})
class StreamIdField(serializers.CharField):
    """A stream id `<kind>:<name>` (DESIGN §2), as exact in the schema as on the server."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            return check_stream_id(data)
        except InvalidStreamId as exc:
            raise serializers.ValidationError(str(exc)) from exc


def require_request_bodies(result, generator, request, public):
    """drf-spectacular postprocessing hook: every body this API takes is required (a raw schema
    given to extend_schema would otherwise leave an empty POST schema-valid, and it is a 400)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation["requestBody"]["required"] = True
    return result
def document_rate_limits(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation can answer 429 (reads are limited per
    client by the default throttle, commands per actor), so each one says so."""
    too_many = {"description": _MEANING[429],
                "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("429", too_many)
    return result


@extend_schema_serializer(component_name="WireEvent")
class WireEventSerializer(serializers.Serializer):
    """An event as DESIGN §2 puts it on the wire (documentation only)."""

    id = serializers.UUIDField()
    streamId = serializers.CharField()
    position = serializers.IntegerField()
    globalPosition = serializers.IntegerField()
    type = serializers.CharField()
    data = serializers.DictField()
    metadata = serializers.DictField()
    recordedAt = serializers.CharField(help_text="ISO-8601 UTC, microseconds, Z")
    prevHash = serializers.CharField()
    hash = serializers.CharField()


@extend_schema_field(WireEventSerializer(many=True))
class WireEventsField(serializers.Field):
    """Recorded events, rendered with `RecordedEvent.to_wire()`."""

    def to_representation(self, value):
        return [event.to_wire() for event in value]
