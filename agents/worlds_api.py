"""HTTP interface of moving worlds (DESIGN §10): `POST /worlds/import`, `GET /worlds/<region>/export`.

Thin views over `agents.imports` and `agents.exports`. The body of an import is the log file
itself (JSON, or that JSON gzipped), taken as raw bytes and bounded: it is verified as a log
file, never parsed as a request.
"""

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from selfplay.api_schema import ERROR_RESPONSES, error_doc

from .exports import export_log
from .imports import TransferRefused, import_log, limit_rate, require_player
from .models import Region

_REFUSED = (
    "invalid", "The log does not verify: event #345 of the file (agent:loc-1a2b3c4d-forager-1 position 12, "
    "global position 345): the hash does not match the event's content",
    {"reason": "hash_mismatch", "index": 344, "streamId": "agent:loc-1a2b3c4d-forager-1", "position": 12,
     "globalPosition": 345})
_DIVERGED = (
    "invalid", "The log does not verify: event #402 of the file (world:loc-1a2b3c4d position 201, global "
    "position 402): tick 17 does not re-evaluate to what was recorded: …",
    {"reason": "replay_divergence", "index": 401, "streamId": "world:loc-1a2b3c4d", "position": 201,
     "globalPosition": 402, "tick": 17})


class LogFileParser(BaseParser):
    """Any body, as at most SELFPLAY_IMPORT_MAX_BYTES + 1 raw bytes (one more tells "too large")."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return stream.read(settings.SELFPLAY_IMPORT_MAX_BYTES + 1) if stream is not None else b""


class WorldImportApi(APIView):
    """Adopt a local world's log as a new region owned by the caller, ticking from its last tick.

    Every hash chain and seal is verified and every recorded tick re-evaluated before anything
    is written; a refusal names the first bad event and writes nothing.
    """

    parser_classes = [LogFileParser]

    @extend_schema_serializer(component_name="WorldImported")
    class OutputSerializer(serializers.Serializer):
        region = serializers.CharField()
        owner = serializers.CharField()
        events = serializers.IntegerField(help_text="events re-recorded from the log")
        ticks = serializers.IntegerField(help_text="recorded ticks re-evaluated")
        lastTick = serializers.IntegerField(help_text="the log's last tick; the daemon goes on from the next")  # noqa: N815
        agents = serializers.IntegerField()
        epoch = serializers.DateTimeField()
        tickSeconds = serializers.IntegerField()  # noqa: N815
        worldUrl = serializers.CharField(help_text="the region's live page")  # noqa: N815

    @extend_schema(
        operation_id="world_import",
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            201: OutputSerializer,
            400: error_doc("`invalid`: not a log file, too large, or it does not verify; `details` names "
                           "the first bad event (`index` in the file, `streamId`, `position`, "
                           "`globalPosition`) and `reason`", _REFUSED, _DIVERGED),
            **ERROR_RESPONSES(401, 403),
            409: error_doc("`conflict`: the daemon already has the log's region or one of its agents", (
                "conflict", "The daemon already has a region loc-1a2b3c4d.",
                {"region": "loc-1a2b3c4d", "streamId": "world:loc-1a2b3c4d"})),
            **ERROR_RESPONSES(429, 503),
        },
        examples=[OpenApiExample("log file", request_only=True, value={
            "format": "selfplay-log", "version": 1, "region": "loc-1a2b3c4d", "events": ["…"], "seals": ["…"]})],
    )
    def post(self, request):
        actor = require_player(request.user)
        limit_rate(actor)
        raw = request.data if isinstance(request.data, bytes) else b""
        report = import_log(owner=request.user, raw=raw)
        body = {**report.to_json(), "worldUrl": f"/world/{report.region}/"}
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)


class WorldExportApi(APIView):
    """Return a region's log (its world and agents' streams) as a file that `/local/` opens."""

    @extend_schema(
        operation_id="world_export",
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            400: error_doc("`invalid`: the region is larger than the import limit", (
                "invalid", "Region meadow holds 350000 events; at most 200000 are exported.",
                {"reason": "too_large", "events": 350000, "limit": 200000})),
            **ERROR_RESPONSES(401, 403, 404, 429, 503),
        },
    )
    def get(self, request, region_id: str):
        actor = require_player(request.user)
        region = Region.objects.filter(id=region_id).first()
        if region is None:
            raise TransferRefused("not_found", f"No region {region_id}.", {"region": region_id[:64]})
        limit_rate(actor)
        response = HttpResponse(export_log(region), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{region.id}.selfplay.json"'
        return response
