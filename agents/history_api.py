"""HTTP interface of a region's past: `GET /worlds/<region>/ticks/<n>` and
`GET /worlds/<region>/agents/<id>/outcomes`.

Both are anonymous (the world is public to watch) and read-rate-limited per client by the
default throttle. A page that shows tick n asks the first where tick n ends in the world stream,
then rebuilds the world there from `GET /checkpoint/at` and `GET /sync`; the agent page draws an
agent's whole history from pages of the second.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from selfplay.api_schema import ERROR_RESPONSES, MAX_POSITION, WireEventsField, error_doc
from selfplay.errors import Refused

from . import selectors

_REGION = OpenApiParameter("region_id", str, OpenApiParameter.PATH, description="a region, e.g. `meadow`")
_NO_REGION = ("not_found", "There is no region nowhere.", {"region": "nowhere"})
_INVALID = ("invalid", "The request is invalid; see details.", {"limit": ["…"]})


@extend_schema_serializer(component_name="SkippedTicks")
class SkippedSerializer(serializers.Serializer):
    fromTick = serializers.IntegerField()  # noqa: N815
    toTick = serializers.IntegerField()  # noqa: N815


class WorldTickApi(APIView):
    """Return where tick n of a region lies in its world stream, and the checksum recorded there."""

    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="WorldTick")
    class OutputSerializer(serializers.Serializer):
        region = serializers.CharField()
        streamId = serializers.CharField(help_text="`world:<region>`")  # noqa: N815
        tick = serializers.IntegerField(help_text="the tick asked for")
        position = serializers.IntegerField(
            help_text="the world stream's position after which the world stood at that tick: its "
                      "`world.tick.completed`, or the `world.ticks.skipped` that covers it")
        globalPosition = serializers.IntegerField(  # noqa: N815
            help_text="that event's global position (to line other streams up with it)")
        checksum = serializers.CharField(
            allow_null=True, help_text="sha256 of the canonical JSON of the world state at `position`, as "
                                       "the tick recorded it; null for a skipped tick")
        skipped = SkippedSerializer(allow_null=True, help_text="the skipped range that holds the tick, else null")
        firstTick = serializers.IntegerField(help_text="the region's first recorded tick")  # noqa: N815
        lastTick = serializers.IntegerField(help_text="its latest recorded tick")  # noqa: N815

    @extend_schema(
        operation_id="world_tick",
        parameters=[_REGION, OpenApiParameter(
            "tick", int, OpenApiParameter.PATH, description=f"a tick number, 0..{MAX_POSITION}")],
        responses={
            200: OutputSerializer,
            400: error_doc("`invalid`: the tick is not a whole number in 0..2^53-1", (
                "invalid", f"tick must be a whole number from 0 to {MAX_POSITION}.", {"tick": "x"})),
            404: error_doc("`not_found`: no such region, or it has no such tick (yet); `details` gives "
                           "its `firstTick` and `lastTick`", _NO_REGION, (
                               "not_found", "Region meadow has no tick 900 (its ticks are 1..230).",
                               {"region": "meadow", "tick": 900, "firstTick": 1, "lastTick": 230})),
            **ERROR_RESPONSES(429),
        },
    )
    def get(self, request, region_id: str, tick: str):
        if not (tick.isascii() and tick.isdigit() and len(tick) <= 16 and int(tick) <= MAX_POSITION):
            raise Refused("invalid", f"tick must be a whole number from 0 to {MAX_POSITION}.", {"tick": tick[:32]})
        mark = selectors.tick_mark(region_id=region_id, tick=int(tick))
        return Response(self.OutputSerializer({
            "region": mark.region, "streamId": mark.stream_id, "tick": mark.tick, "position": mark.position,
            "globalPosition": mark.global_position, "checksum": mark.checksum,
            "skipped": {"fromTick": mark.skipped[0], "toTick": mark.skipped[1]} if mark.skipped else None,
            "firstTick": mark.first_tick, "lastTick": mark.last_tick,
        }).data)


class AgentOutcomesApi(APIView):
    """Return a page of an agent's outcomes in its world stream, before a position.

    Page backwards from the newest with `before=<nextBefore>` until `complete`. Each page looks
    at no more than 20,000 positions of the stream, so a page may be short, or empty, and still
    not be the last.
    """

    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="AgentOutcomesQuery")
    class InputSerializer(serializers.Serializer):
        before = serializers.IntegerField(
            required=False, min_value=1, max_value=MAX_POSITION,
            help_text="only events at a smaller world-stream position (default: all up to the head)")
        limit = serializers.IntegerField(
            required=False, default=500, min_value=1, max_value=selectors.MAX_OUTCOME_LIMIT,
            help_text="at most this many events")

    @extend_schema_serializer(component_name="AgentOutcomes")
    class OutputSerializer(serializers.Serializer):
        agentId = serializers.CharField(source="agent_id")  # noqa: N815
        region = serializers.CharField()
        streamId = serializers.CharField(source="stream_id", help_text="`world:<region>`")  # noqa: N815
        events = WireEventsField(help_text=(
            "oldest first: the agent's `agent.action.succeeded` / `agent.action.failed`, those of others "
            "whose `effects.transfer.to` is the agent, and its `agent.spawned`"))
        nextBefore = serializers.IntegerField(  # noqa: N815
            source="next_before", help_text="`before` of the next (older) page")
        headPosition = serializers.IntegerField(  # noqa: N815
            source="head_position", help_text="the world stream's head when read")
        complete = serializers.BooleanField(help_text="the agent's arrival or the stream's start was reached")

    @extend_schema(
        operation_id="agent_outcomes",
        parameters=[_REGION, OpenApiParameter("agent_id", str, OpenApiParameter.PATH, description="an agent id"),
                    InputSerializer],
        responses={
            200: OutputSerializer,
            400: error_doc("`invalid`: `before` or `limit` missing a whole number in range", _INVALID),
            404: error_doc("`not_found`: no such agent in that region", (
                "not_found", "Region meadow has no agent zed.", {"region": "meadow", "agentId": "zed"})),
            **ERROR_RESPONSES(429),
        },
    )
    def get(self, request, region_id: str, agent_id: str):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        page = selectors.agent_outcomes(region_id=region_id, agent_id=agent_id, **params.validated_data)
        return Response(self.OutputSerializer(page).data)
