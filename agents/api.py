"""HTTP interface of commands (DESIGN §5): thin views over agents.commands."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from selfplay.api_schema import ERROR_RESPONSES
from selfplay.world import action_schema
from selfplay.world.actions import AGENT_ID_RE

from .commands import KINDS, MAX_REASON, Command, CommandRefused, submit_command

MAX_COMMAND_BYTES = 16 * 1024


class StrictCharField(serializers.CharField):
    """A string, and only a string: DRF's CharField would take 0 as "0"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    """A UUID written as a string: DRF's UUIDField would take the integer 5 as a UUID too."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


_COMMON_PROPERTIES = {
    "streamId": {"type": "string", "pattern": "^agent:" + AGENT_ID_RE.pattern + "$",
                 "description": "the agent's stream, e.g. agent:ada"},
    "reason": {"type": "string", "maxLength": MAX_REASON, "pattern": "^[^\\x00]*$",
               "description": "why (required of operators); recorded with the command"},
    "idempotencyKey": {"type": "string", "format": "uuid", "nullable": True,
                       "description": "a retry with the same key and body gets the first answer"},
}
# The exact body: an override or a decision carries one action, exactly as the game's own schema
# says (selfplay.world.action_schema); a pause or a resume needs none. Other members of the body
# are ignored, as in every DRF body (a newer client may send more than this server knows).
COMMAND_SCHEMA = {"oneOf": [
    {"type": "object", "title": "override or decision", "required": ["kind", "streamId", "action"],
     "properties": {"kind": {"type": "string", "enum": ["override", "decision"]},
                    "action": action_schema(), **_COMMON_PROPERTIES}},
    {"type": "object", "title": "pause or resume", "required": ["kind", "streamId"],
     "properties": {"kind": {"type": "string", "enum": ["pause", "resume"]}, **_COMMON_PROPERTIES}},
]}


class CommandSubmitApi(APIView):
    """Submit an override, an external decision, a pause or a resume for an agent."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=KINDS)
        # Exactly as sent: " agent:ada" is not a stream id (the schema's pattern says so).
        streamId = StrictCharField(max_length=80, trim_whitespace=False)  # noqa: N815 - wire name
        action = serializers.DictField(required=False, allow_null=True)
        reason = StrictCharField(required=False, allow_blank=True, max_length=MAX_REASON, default="",
                                 trim_whitespace=False)
        idempotencyKey = StrictUUIDField(required=False, allow_null=True, format="hex_verbose")  # noqa: N815

    @extend_schema_serializer(component_name="CommandAccepted")
    class OutputSerializer(serializers.Serializer):
        accepted = serializers.BooleanField()
        eventId = serializers.UUIDField()  # noqa: N815
        streamId = serializers.CharField()  # noqa: N815
        position = serializers.IntegerField()
        appliesAtTick = serializers.IntegerField()  # noqa: N815

    @extend_schema(
        operation_id="command_submit",
        request={"application/json": COMMAND_SCHEMA},
        responses={202: OutputSerializer, **ERROR_RESPONSES(400, 401, 403, 404, 409, 422, 429, 503)},
        examples=[OpenApiExample("override", request_only=True, value={
            "kind": "override", "streamId": "agent:ada", "action": {"type": "move", "dx": 1, "dy": 0},
            "reason": "walk her to the berries", "idempotencyKey": "0b6f3c7e-8f7a-4a53-9a53-3e1e6b7c2d11"})],
    )
    def post(self, request):
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_COMMAND_BYTES:
            raise CommandRefused("invalid", f"A command body is at most {MAX_COMMAND_BYTES} bytes.")
        command = command_from_body(request.data)
        answer = submit_command(principal=request.user, command=command)
        return Response(self.OutputSerializer(answer).data, status=status.HTTP_202_ACCEPTED)


def command_from_body(body) -> Command:
    """Validate a command body (HTTP or WebSocket) into a Command, or raise CommandRefused."""
    if not isinstance(body, dict):
        raise CommandRefused("invalid", "The body must be a JSON object.")
    serializer = CommandSubmitApi.InputSerializer(data=body)
    if not serializer.is_valid():
        raise CommandRefused("invalid", "The command is invalid; see details.", serializer.errors)
    data = serializer.validated_data
    key = data.get("idempotencyKey")
    return Command(kind=data["kind"], stream_id=data["streamId"], action=data.get("action"),
                   reason=data.get("reason") or "", idempotency_key=str(key) if key else None)
