"""HTTP interface of projections (DESIGN §5 `GET /projection/<name>`)."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from selfplay.api_schema import ERROR_RESPONSES
from selfplay.errors import SelfplayError

from .projections import UnknownProjection, get_spec
from .selectors import projection_row


class ProjectionDetailApi(APIView):
    """Read one projection key: its state, checksum and the global position it reflects."""

    @extend_schema_serializer(component_name="ProjectionQuery")
    class InputSerializer(serializers.Serializer):
        key = serializers.CharField(max_length=80, trim_whitespace=False,
                                    help_text="the projection key, e.g. the region for `world`")

    @extend_schema_serializer(component_name="Projection")
    class OutputSerializer(serializers.Serializer):
        name = serializers.CharField()
        key = serializers.CharField()
        globalPosition = serializers.IntegerField()  # noqa: N815
        checksum = serializers.CharField()
        state = serializers.DictField()

    @extend_schema(
        operation_id="projection_detail",
        parameters=[InputSerializer],
        responses={200: OutputSerializer, **ERROR_RESPONSES(400, 404)},
    )
    def get(self, request, name: str):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        key = params.validated_data["key"]
        try:
            get_spec(name)
        except UnknownProjection as exc:
            raise SelfplayError(str(exc), {"name": name}, code="not_found") from exc
        row = projection_row(name, key)
        if row is None:
            raise SelfplayError(f"Projection {name} has no key {key!r}.", {"name": name, "key": key}, code="not_found")
        return Response(self.OutputSerializer(row).data)
