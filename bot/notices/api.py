"""Broadcast API for supervisors' tools (supervisors only, token or session auth)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import APIView

from bot.notices import broadcasts, selectors
from bot.notices.models import Broadcast
from support.roles import IsSupervisor


class NoticesApiError(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"


def _call(service, **kwargs):
    try:
        return service(**kwargs)
    except broadcasts.NoticesError as exc:
        raise NoticesApiError(detail=exc.message, code=exc.code.value) from exc


class BroadcastOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    kind = serializers.CharField()
    audience = serializers.CharField()
    title = serializers.CharField()
    text = serializers.CharField()
    link = serializers.CharField()
    scheduled_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    total = serializers.IntegerField()
    sent = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    delivered = serializers.IntegerField()
    unknown = serializers.IntegerField(help_text="Outcome unknown after a lost worker; not resent")


def _output(broadcast: Broadcast) -> dict:
    progress = selectors.broadcast_progress(broadcast=broadcast)
    data = {
        "id": broadcast.pk,
        "status": broadcast.status,
        "kind": broadcast.kind,
        "audience": broadcast.audience,
        "title": broadcast.title,
        "text": broadcast.text,
        "link": broadcast.link,
        "scheduled_at": broadcast.scheduled_at,
        "started_at": broadcast.started_at,
        "finished_at": broadcast.finished_at,
        "total": progress.total,
        "sent": progress.sent,
        "failed": progress.failed,
        "pending": progress.pending,
        "cancelled": progress.cancelled,
        "delivered": progress.delivered,
        "unknown": progress.unknown,
    }
    return BroadcastOutputSerializer(data).data


class BroadcastInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=2000)
    audience = serializers.ChoiceField(choices=Broadcast.Audience.choices, default="all")
    link = serializers.URLField(required=False, allow_blank=True, default="")
    title = serializers.CharField(required=False, allow_blank=True, max_length=60, default="")
    tag = serializers.CharField(required=False, allow_blank=True, default="")
    intent = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    region = serializers.CharField(required=False, allow_blank=True, default="", max_length=20)
    since = serializers.DateTimeField(required=False, allow_null=True, default=None)
    until = serializers.DateTimeField(required=False, allow_null=True, default=None)
    incident = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=2**63 - 1
    )
    mass_send = serializers.BooleanField(required=False, default=False)
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class BroadcastCreateApi(APIView):
    """Create a broadcast and send it now, or at `scheduled_at`."""

    permission_classes = [IsSupervisor]

    @extend_schema(request=BroadcastInputSerializer, responses={201: BroadcastOutputSerializer})
    def post(self, request):
        serializer = BroadcastInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        broadcast = _call(
            broadcasts.broadcast_create,
            text=data["text"],
            audience=data["audience"],
            link=data["link"],
            title=data["title"],
            tag_name=data["tag"],
            intent=data["intent"],
            region=data["region"],
            since=data["since"],
            until=data["until"],
            incident_id=data["incident"],
            use_mass_send=data["mass_send"],
            created_by=request.user,
        )
        if data["scheduled_at"]:
            broadcast = _call(
                broadcasts.broadcast_schedule, broadcast_id=broadcast.pk, at=data["scheduled_at"]
            )
        else:
            broadcast = _call(broadcasts.broadcast_start, broadcast_id=broadcast.pk)
        return Response(_output(broadcast), status=status.HTTP_201_CREATED)


class BroadcastDetailApi(APIView):
    """A broadcast and its progress; `status` reaches `done` when every notice settled."""

    permission_classes = [IsSupervisor]

    @extend_schema(responses=BroadcastOutputSerializer)
    def get(self, request, pk: int):
        return Response(_output(get_object_or_404(Broadcast, pk=pk)))


class BroadcastCancelApi(APIView):
    """Cancel a broadcast: what is not yet sent is not sent."""

    permission_classes = [IsSupervisor]

    @extend_schema(request=None, responses=BroadcastOutputSerializer)
    def post(self, request, pk: int):
        get_object_or_404(Broadcast, pk=pk)
        return Response(_output(_call(broadcasts.broadcast_cancel, broadcast_id=pk)))
