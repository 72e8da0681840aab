"""`GET /worlds/<region>/agents/<id>/capabilities`: an agent's grants, budget, spend and results.

Anonymous, as the rest of the world's record (read-rate-limited per client by the default
throttle); the agent's notifications are shown to its owner and to operators only.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from selfplay.api_schema import ERROR_RESPONSES, error_doc

from . import selectors


@extend_schema_serializer(component_name="CapabilityResult")
class ResultSerializer(serializers.Serializer):
    requestId = serializers.CharField()  # noqa: N815
    capability = serializers.CharField()
    tick = serializers.IntegerField(help_text="the tick the agent asked at")
    status = serializers.ChoiceField(["pending", "completed", "failed"])
    result = serializers.DictField(required=False, help_text="what the plugin returned (completed)")
    blobHash = serializers.CharField(required=False, help_text="a large result, kept as a blob")  # noqa: N815
    size = serializers.IntegerField(required=False, help_text="that blob's size in bytes")
    code = serializers.CharField(required=False, help_text=(
        "why it failed: timeout, refused, too_large, unavailable, budget_exhausted, not_granted, invalid, error"))


@extend_schema_serializer(component_name="AgentNotification")
class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    requestId = serializers.CharField()  # noqa: N815
    message = serializers.CharField()
    createdAt = serializers.DateTimeField()  # noqa: N815


class AgentCapabilitiesApi(APIView):
    """Return an agent's capability grants, budget bucket, spend and latest results."""

    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="AgentCapabilities")
    class OutputSerializer(serializers.Serializer):
        agentId = serializers.CharField()  # noqa: N815
        region = serializers.CharField()
        tick = serializers.IntegerField(help_text="the region's latest tick, at which `budget` is given")
        grants = serializers.ListField(child=serializers.CharField(), help_text="capabilities the agent may use")
        budget = serializers.IntegerField(help_text="what the bucket holds now")
        budgetCap = serializers.IntegerField(help_text="the bucket's size")  # noqa: N815
        refillPerTick = serializers.IntegerField()  # noqa: N815
        spent = serializers.IntegerField(help_text="budget spent on requests, ever")
        requests = serializers.IntegerField(help_text="`use` decisions that reached the agents layer, ever")
        costs = serializers.DictField(child=serializers.IntegerField(), help_text="cost of one request, by capability")
        results = ResultSerializer(many=True, help_text="the latest requests, newest first")
        notifications = NotificationSerializer(many=True, allow_null=True, help_text=(
            "the agent's latest notifications, newest first, for its owner or an operator; null for anyone else"))

    @extend_schema(
        operation_id="agent_capabilities",
        parameters=[OpenApiParameter("region_id", str, OpenApiParameter.PATH, description="a region, e.g. `meadow`"),
                    OpenApiParameter("agent_id", str, OpenApiParameter.PATH, description="an agent id")],
        responses={
            200: OutputSerializer,
            404: error_doc("`not_found`: no such agent in that region", (
                "not_found", "Region meadow has no agent zed.", {"region": "meadow", "agentId": "zed"})),
            **ERROR_RESPONSES(429),
        },
    )
    def get(self, request, region_id: str, agent_id: str):
        ledger = selectors.agent_capabilities(region_id=region_id, agent_id=agent_id, user=request.user)
        return Response(self.OutputSerializer(ledger).data)
