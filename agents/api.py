"""HTTP interface of commands (DESIGN §5): thin views over agents.commands."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from selfplay.api_errors import ApiError
from selfplay.api_schema import ERROR_RESPONSES

from .commands import KINDS, Command, CommandRefused, submit_command

MAX_COMMAND_BYTES = 16 * 1024


class CommandSubmitApi(APIView):
    """Submit an override, an external decision, a pause or a resume for an agent."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="CommandInput")
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=KINDS)
        streamId = serializers.CharField(max_length=80)  # noqa: N815 - wire name
        action = serializers.DictField(required=False, allow_null=True)
        reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
        idempotencyKey = serializers.UUIDField(required=False, allow_null=True, format="hex_verbose")  # noqa: N815

    @extend_schema_serializer(component_name="CommandAccepted")
    class OutputSerializer(serializers.Serializer):
        accepted = serializers.BooleanField()
        eventId = serializers.UUIDField()  # noqa: N815
        streamId = serializers.CharField()  # noqa: N815
        position = serializers.IntegerField()
        appliesAtTick = serializers.IntegerField()  # noqa: N815

    @extend_schema(
        operation_id="command_submit",
        request=InputSerializer,
        responses={202: OutputSerializer, **ERROR_RESPONSES(400, 401, 403, 404, 409, 429, 503)},
        examples=[OpenApiExample("override", request_only=True, value={
            "kind": "override", "streamId": "agent:ada", "action": {"type": "move", "dx": 1, "dy": 0},
            "reason": "walk her to the berries", "idempotencyKey": "0b6f3c7e-8f7a-4a53-9a53-3e1e6b7c2d11"})],
    )
    def post(self, request):
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_COMMAND_BYTES:
            raise ApiError("invalid", f"A command body is at most {MAX_COMMAND_BYTES} bytes.")
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
