"""HTTP interface of checkpoints (DESIGN §5): `GET /checkpoint/latest` and `GET /sync`.

Both are anonymous. The world is public to watch, so the checkpoint of any stream may be read
by anyone; a token is a bearer capability for one checkpoint of one stream, so `/sync` needs
nothing but the token.
"""

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from events.store import InvalidStreamId
from selfplay.api_schema import error_doc

from . import selectors
from .exceptions import NoCheckpoint
from .services import sync_for_client
from .streams import check_stream_id
from .tokens import issue_token

SESSION_HEADER = "X-Selfplay-Session"


@extend_schema_serializer(component_name="CheckpointSummary")
class CheckpointSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    streamId = serializers.CharField(source="stream_id")
    position = serializers.IntegerField(help_text="the stream position whose state it holds")
    globalPosition = serializers.IntegerField(source="global_position")
    checksum = serializers.CharField(help_text="sha256 of the canonical JSON of the state")
    createdAt = serializers.DateTimeField(source="created_at")


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


_INVALID = ("invalid", "The request is invalid; see details.", {"streamId": ["…"]})
_TOKEN_INVALID = ("token_invalid", "The token's signature is not valid.", {"reason": "bad_signature"})


class CheckpointLatestApi(APIView):
    """Return the newest checkpoint of a stream and a signed token to resync from it.

    Anonymous, for every kind of stream (world, agent, system, verification): the world is
    public to watch.
    """

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="CheckpointLatestQuery")
    class InputSerializer(serializers.Serializer):
        streamId = serializers.CharField(help_text="any stream id, e.g. `world:meadow` or `agent:ada`")

        def validate_streamId(self, value):  # noqa: N802 - DRF names validators after fields
            try:
                return check_stream_id(value)
            except InvalidStreamId as exc:
                raise serializers.ValidationError(str(exc)) from exc

    @extend_schema_serializer(component_name="CheckpointLatest")
    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(help_text="signed; pass it to GET /sync")
        checkpoint = CheckpointSerializer()

    @extend_schema(
        operation_id="checkpoint_latest",
        parameters=[InputSerializer],
        responses={
            200: OutputSerializer,
            400: error_doc("`invalid`: streamId missing or malformed", _INVALID),
            404: error_doc("`no_checkpoint`: the stream has no checkpoint yet", (
                "no_checkpoint", "Stream agent:ada has no checkpoint yet.", {"streamId": "agent:ada"})),
        },
    )
    def get(self, request):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        stream_id = params.validated_data["streamId"]
        checkpoint = selectors.latest_checkpoint(stream_id)
        if checkpoint is None:
            raise NoCheckpoint(f"Stream {stream_id} has no checkpoint yet.", {"streamId": stream_id})
        token, _ = issue_token(checkpoint)
        return Response(self.OutputSerializer({"token": token, "checkpoint": checkpoint}).data)


class CheckpointSyncApi(APIView):
    """Return a checkpoint's state and a page of its stream's events after it.

    Anonymous: the token is the capability. Page with `after=<lastPosition>` until `complete`.
    """

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="SyncQuery")
    class InputSerializer(serializers.Serializer):
        token = serializers.CharField(trim_whitespace=False, help_text="from GET /checkpoint/latest")
        after = serializers.IntegerField(
            required=False, min_value=0,
            help_text="return events with a greater position (default: the token's position; "
                      "at most the stream's head)")
        limit = serializers.IntegerField(
            required=False, default=selectors.DEFAULT_SYNC_LIMIT, min_value=1,
            max_value=selectors.MAX_SYNC_LIMIT, help_text="events per page")

    @extend_schema_serializer(component_name="SyncPage")
    class OutputSerializer(serializers.Serializer):
        checkpoint = CheckpointSerializer()
        state = serializers.DictField(help_text="the stream's state at the checkpoint's position")
        events = WireEventsField()
        lastPosition = serializers.IntegerField(
            source="last_position", help_text="position of the last event returned, else `after`")
        headPosition = serializers.IntegerField(source="head_position", help_text="the stream's version")
        complete = serializers.BooleanField(help_text="lastPosition == headPosition")

    @extend_schema(
        operation_id="sync",
        parameters=[InputSerializer, OpenApiParameter(
            SESSION_HEADER, str, OpenApiParameter.HEADER, required=False,
            description="an id of the client (a browser, a script), steady across its reloads: lets "
                        "the continuity tracker follow its token lineage and flag one token used by two "
                        "clients at once")],
        responses={
            200: OutputSerializer,
            400: error_doc(
                "`invalid`: a parameter missing or out of range; `token_invalid`: forged or "
                "malformed token, unknown checkpoint, or a position past the stream's head",
                _INVALID, _TOKEN_INVALID),
            409: error_doc("`checkpoint_corrupt`: the stored state no longer matches its checksum", (
                "checkpoint_corrupt", "Checkpoint … stored state no longer matches its checksum.",
                {"checkpointId": "…", "checksum": "…"})),
            410: error_doc("`token_expired`: ask GET /checkpoint/latest for a new token", (
                "token_expired", "The token has expired.", {"expiresAt": "2026-11-27T12:00:00Z"})),
            503: error_doc("`unavailable`: the checkpoint state backend cannot be reached", (
                "unavailable", "Checkpoint states cannot be read just now; try again.",
                {"storage": "redis"})),
        },
    )
    def get(self, request):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        # Optional: a client names its session so the continuity tracker can follow its tokens.
        session_id = (request.headers.get(SESSION_HEADER) or "").strip()[:64] or None
        page = sync_for_client(session_id=session_id, **params.validated_data)
        return Response(self.OutputSerializer(page).data)
