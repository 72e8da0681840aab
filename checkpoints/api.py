"""HTTP interface of checkpoints (DESIGN §5): `GET /checkpoint/latest`, `GET /checkpoint/at` and
`GET /sync`.

All are anonymous and read-rate-limited per client (the default throttle). The world is public to
watch, so the checkpoint of any stream may be read by anyone; a token is a bearer capability for
one checkpoint of one stream, so `/sync` needs nothing but the token.
"""

import re

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from selfplay.api_schema import (
    ERROR_RESPONSES,
    MAX_POSITION,
    StreamIdField,
    WireEventsField,
    error_doc,
)

from . import selectors
from .exceptions import NoCheckpoint, TokenInvalid
from .services import sync_for_client
from .signals import Client
from .tokens import MAX_TOKEN_LENGTH, TOKEN_PATTERN, issue_token

SESSION_HEADER = "X-Selfplay-Session"
SESSION_ID_RE = re.compile(r"[A-Za-z0-9._:-]+")


@extend_schema_serializer(component_name="CheckpointSummary")
class CheckpointSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    streamId = serializers.CharField(source="stream_id")
    position = serializers.IntegerField(help_text="the stream position whose state it holds")
    globalPosition = serializers.IntegerField(source="global_position")
    checksum = serializers.CharField(help_text="sha256 of the canonical JSON of the state")
    createdAt = serializers.DateTimeField(source="created_at")


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
        streamId = StreamIdField(help_text="any stream id, e.g. `world:meadow` or `agent:ada`")  # noqa: N815

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


class CheckpointAtApi(APIView):
    """Return the newest checkpoint of a stream at or before a position, and a token for it.

    Anonymous, like `/checkpoint/latest`: a page that shows a stream's past (time travel)
    rebuilds it from this checkpoint and the events after it, read through `/sync`.
    """

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="CheckpointAtQuery")
    class InputSerializer(serializers.Serializer):
        streamId = StreamIdField(help_text="any stream id, e.g. `world:meadow` or `agent:ada`")  # noqa: N815
        position = serializers.IntegerField(
            required=False, min_value=0, max_value=MAX_POSITION,
            help_text="a position of the stream; give this or globalPosition")
        globalPosition = serializers.IntegerField(  # noqa: N815 - the wire's name
            required=False, min_value=0, max_value=MAX_POSITION,
            help_text="a global position of the log (the stream as it stood at that moment); "
                      "give this or position")

        def validate(self, attrs):
            if ("position" in attrs) == ("globalPosition" in attrs):
                raise serializers.ValidationError({"position": ["Give exactly one of position and globalPosition."]})
            return attrs

    @extend_schema(
        operation_id="checkpoint_at",
        parameters=[InputSerializer],
        responses={
            200: CheckpointLatestApi.OutputSerializer,
            400: error_doc("`invalid`: streamId missing or malformed, or not exactly one of position and "
                           "globalPosition, or one that is not a whole number in 0..2^53-1", _INVALID, (
                               "invalid", "The request is invalid; see details.",
                               {"position": ["Give exactly one of position and globalPosition."]})),
            404: error_doc("`no_checkpoint`: no checkpoint of the stream is at or before that position "
                           "(replay the stream from its start)", (
                               "no_checkpoint", "Stream world:meadow has no checkpoint at or before position 12.",
                               {"streamId": "world:meadow", "position": 12})),
            **ERROR_RESPONSES(429),
        },
    )
    def get(self, request):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        stream_id = params.validated_data["streamId"]
        position = params.validated_data.get("position")
        global_position = params.validated_data.get("globalPosition")
        checkpoint = selectors.checkpoint_at(stream_id, position=position, global_position=global_position)
        if checkpoint is None:
            where = (f"position {position}" if position is not None else f"global position {global_position}")
            details = {"streamId": stream_id, **({"position": position} if position is not None
                                                 else {"globalPosition": global_position})}
            raise NoCheckpoint(f"Stream {stream_id} has no checkpoint at or before {where}.", details)
        token, _ = issue_token(checkpoint)
        return Response(CheckpointLatestApi.OutputSerializer({"token": token, "checkpoint": checkpoint}).data)


class CheckpointSyncApi(APIView):
    """Return a checkpoint's state and a page of its stream's events after it.

    Anonymous: the token is the capability. Page with `after=<lastPosition>` until `complete`.
    """

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="SyncQuery")
    class InputSerializer(serializers.Serializer):
        token = serializers.RegexField(TOKEN_PATTERN, max_length=MAX_TOKEN_LENGTH, trim_whitespace=False,
                                       help_text="from GET /checkpoint/latest")
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
        if not params.is_valid() and "token" in params.errors and request.query_params.get("token"):
            # A token with characters no token holds is as forged as one with a bad signature:
            # clients fall back to GET /checkpoint/latest on token_invalid (DESIGN §5).
            raise TokenInvalid("The token is malformed.", {"reason": "malformed"})
        params.is_valid(raise_exception=True)
        page = sync_for_client(client=client_of(request), **params.validated_data)
        return Response(self.OutputSerializer(page).data)


def client_of(request) -> Client:
    """Return who is asking: its address (as the read throttle sees it) and the session it names.

    The session header is optional: a client names itself so the continuity tracker can follow
    its tokens. Anything but a short printable id is ignored.
    """
    session_id = (request.headers.get(SESSION_HEADER) or "").strip()
    if not (0 < len(session_id) <= 64 and SESSION_ID_RE.fullmatch(session_id)):
        session_id = None
    return Client(session_id=session_id, address=BaseThrottle().get_ident(request))
