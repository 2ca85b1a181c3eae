"""The reports over the API (token or session auth, supervisors only)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from bot.reports import mining, selectors
from support.roles import IsSupervisor

RANGE_PARAMETERS = [
    OpenApiParameter("start", str, description="YYYY-MM-DD (Asia/Shanghai), included"),
    OpenApiParameter("end", str, description="YYYY-MM-DD (Asia/Shanghai), included"),
]


def _range(request, *, queue: bool = True) -> selectors.ReportRange:
    params = request.query_params
    return selectors.report_range(
        start=params.get("start", ""),
        end=params.get("end", ""),
        queue=params.get("queue", "") if queue else "",
    )


class SummaryOutputSerializer(serializers.Serializer):
    class TopIntent(serializers.Serializer):
        intent = serializers.CharField()
        count = serializers.IntegerField()

    conversations = serializers.IntegerField()
    messages_in = serializers.IntegerField()
    bot_answered = serializers.IntegerField()
    escalated = serializers.IntegerField()
    deflection_rate = serializers.FloatField(allow_null=True)
    containment_rate = serializers.FloatField(allow_null=True)
    unanswered = serializers.IntegerField()
    top_intents = TopIntent(many=True)
    invoice_checks = serializers.DictField(child=serializers.IntegerField())
    causes = serializers.DictField(child=serializers.IntegerField())
    csat_average = serializers.FloatField(allow_null=True)
    csat_responses = serializers.IntegerField()
    first_response_p50_seconds = serializers.IntegerField(allow_null=True)
    resolution_p50_seconds = serializers.IntegerField(allow_null=True)
    sla_first_response_met_rate = serializers.FloatField(allow_null=True)


class SummaryApi(APIView):
    """A range's headline figures; definitions in docs/reports.md."""

    permission_classes = [IsSupervisor]

    @extend_schema(
        parameters=[
            *RANGE_PARAMETERS,
            OpenApiParameter("queue", str, description="queue slug (optional)"),
        ],
        responses=SummaryOutputSerializer,
    )
    def get(self, request):
        return Response(selectors.report_summary(_range(request)))


class ClusterOutputSerializer(serializers.Serializer):
    label = serializers.CharField()
    count = serializers.IntegerField()
    examples = serializers.ListField(child=serializers.CharField())
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    reasons = serializers.DictField(child=serializers.IntegerField())
    nearest_entry = serializers.DictField(allow_null=True)
    resolution = serializers.DictField(allow_null=True)


class UnansweredApi(APIView):
    """What followers asked that the bot could not answer, grouped by need."""

    permission_classes = [IsSupervisor]

    @extend_schema(parameters=RANGE_PARAMETERS, responses=ClusterOutputSerializer(many=True))
    def get(self, request):
        found = mining.unanswered_clusters(_range(request, queue=False))
        return Response([cluster.as_dict() for cluster in found])
