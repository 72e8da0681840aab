"""`GET /worlds/<region>/health`: is the world ticking? For the world page's banner.

Anonymous and read-rate-limited like every read: the world is public to watch, and a player
watching a frozen map deserves to hear why (a stalled region, an unreachable broker) rather than
"Reconnecting in 8 s".
"""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.models import Region
from selfplay.api_schema import ERROR_RESPONSES, error_doc
from selfplay.errors import Refused

from .overview import broker_status, region_health, warnings_of


class WorldHealthApi(APIView):
    """Return whether a region ticks on schedule and whether the broker answers, with warnings."""

    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="WorldHealth")
    class OutputSerializer(serializers.Serializer):
        region = serializers.CharField()
        tickSeconds = serializers.FloatField(help_text="the region's cadence")  # noqa: N815
        lastTick = serializers.IntegerField(help_text="the latest tick recorded")  # noqa: N815
        lastTickAt = serializers.CharField(allow_null=True, help_text="when it was recorded (ISO-8601)")  # noqa: N815
        dueTick = serializers.IntegerField(help_text="the tick the schedule says is due now")  # noqa: N815
        lagTicks = serializers.IntegerField(help_text="dueTick - lastTick, at least 0")  # noqa: N815
        stalled = serializers.BooleanField(help_text="3 or more ticks behind the schedule")
        brokerReachable = serializers.BooleanField(help_text="the Celery broker answers a ping")  # noqa: N815
        warnings = serializers.ListField(child=serializers.CharField(), help_text="for a person; empty when healthy")

    @extend_schema(
        operation_id="world_health",
        parameters=[OpenApiParameter("region_id", str, OpenApiParameter.PATH, description="e.g. `meadow`")],
        responses={200: OutputSerializer,
                   404: error_doc("`not_found`: no such region",
                                  ("not_found", "There is no region nowhere.", {"region": "nowhere"})),
                   **ERROR_RESPONSES(429)},
    )
    def get(self, request, region_id: str):
        region = Region.objects.filter(id=region_id).first()
        if region is None:
            raise Refused("not_found", f"There is no region {region_id}.", {"region": region_id})
        overview = region_health(region, now=timezone.now())
        broker = broker_status()
        return Response(self.OutputSerializer({
            "region": region.id, "tickSeconds": region.tick_seconds, "lastTick": overview["lastTick"],
            "lastTickAt": overview["lastTickAt"], "dueTick": overview["dueTick"], "lagTicks": overview["lagTicks"],
            "stalled": overview["stalled"], "brokerReachable": broker["reachable"],
            "warnings": warnings_of({"broker": broker, "regions": [overview]}),
        }).data)
