"""Agent API of the help desk (DRF, thin): tickets, replies, notes, queues, canned responses.

A refused service call raises `services.TicketError` (a `support.errors.DomainError`);
`support.api.exception_handler` turns it into the one error format, so views do not
catch it.
"""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets import selectors, services
from tickets.models import CannedResponse, Priority, Queue, Ticket, TicketMessage
from tickets.notify import get_backend
from tickets.pagination import TicketPagination


class IsAgent(BasePermission):
    """Staff with an agent profile, or superusers: the same people as in admin."""

    def has_permission(self, request, view) -> bool:
        return selectors.is_agent(request.user)


def _visible(request, pk: int) -> Ticket:
    return get_object_or_404(selectors.tickets_visible_to(user=request.user), pk=pk)


class TicketListOutputSerializer(serializers.ModelSerializer):
    openid = serializers.CharField(source="requester_ref")
    nickname = serializers.CharField(source="requester_name")
    queue = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True)
    sla_breached = serializers.BooleanField(read_only=True)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "status",
            "priority",
            "openid",
            "nickname",
            "queue",
            "assignee",
            "subject",
            "category",
            "tags",
            "created_at",
            "updated_at",
            "first_response_at",
            "resolved_at",
            "closed_at",
            "first_response_due",
            "resolution_due",
            "sla_breached",
            "satisfaction",
        ]


class AttachmentOutputSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="image or voice")
    url = serializers.CharField(help_text="needs the same credentials as the ticket")
    content_type = serializers.CharField()


class TicketMessageOutputSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    attachments = serializers.SerializerMethodField()

    class Meta:
        model = TicketMessage
        fields = [
            "id",
            "author_kind",
            "author",
            "text",
            "created_at",
            "delivery_ref",
            "attachments",
        ]

    @extend_schema_field(AttachmentOutputSerializer(many=True))
    def get_attachments(self, obj: TicketMessage) -> list[dict]:
        found = self.context.get("attachments") or {}
        return found.get(obj.external_ref or "", [])


class ReplyWindowOutputSerializer(serializers.Serializer):
    open = serializers.BooleanField()
    closes_at = serializers.DateTimeField(allow_null=True)
    messages_left = serializers.IntegerField()


class TicketDetailOutputSerializer(TicketListOutputSerializer):
    messages = TicketMessageOutputSerializer(many=True, read_only=True)
    reply_window = serializers.SerializerMethodField()

    @extend_schema_field(ReplyWindowOutputSerializer(allow_null=True))
    def get_reply_window(self, obj: Ticket) -> dict | None:
        return get_backend().reply_window(ticket=obj)

    class Meta(TicketListOutputSerializer.Meta):
        fields = [
            *TicketListOutputSerializer.Meta.fields,
            "escalation_reason",
            "invoices",
            "merged_into",
            "messages",
            "reply_window",
        ]


class TicketListApi(generics.ListAPIView):
    """Tickets of the caller's queues, newest first. `?openid=&status=&queue=&assignee=`."""

    permission_classes = [IsAgent]
    serializer_class = TicketListOutputSerializer
    pagination_class = TicketPagination

    def get_queryset(self):
        params = self.request.query_params
        return selectors.ticket_list(
            user=self.request.user,
            openid=params.get("openid", ""),
            status=params.get("status", ""),
            queue=params.get("queue", ""),
            assignee=params.get("assignee", ""),
        )


class TicketDetailApi(APIView):
    """One ticket with its whole conversation and invoices; PATCH status, priority, assignee."""

    permission_classes = [IsAgent]

    class TicketPatchInputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Ticket.Status.choices, required=False)
        priority = serializers.ChoiceField(choices=Priority.choices, required=False)
        assignee = serializers.CharField(required=False, allow_null=True, help_text="username")
        tags = serializers.ListField(
            child=serializers.CharField(max_length=30), required=False, max_length=20
        )
        note = serializers.CharField(required=False, allow_blank=True, default="")

    def _detail(self, request, pk: int) -> Ticket:
        qs = selectors.tickets_visible_to(user=request.user).select_related("queue", "assignee")
        messages = TicketMessage.objects.select_related("author").order_by("created_at", "id")
        qs = qs.prefetch_related(Prefetch("messages", queryset=messages))
        return get_object_or_404(qs, pk=pk)

    @extend_schema(responses=TicketDetailOutputSerializer)
    def get(self, request, pk: int):
        return Response(_detail_body(request, self._detail(request, pk)))

    @extend_schema(request=TicketPatchInputSerializer, responses=TicketDetailOutputSerializer)
    def patch(self, request, pk: int):
        ticket = _visible(request, pk)
        data = self.TicketPatchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        services.ticket_update(
            ticket=ticket,
            actor=request.user,
            status=values.get("status"),
            priority=values.get("priority"),
            tags=values.get("tags"),
            assignee_username=values.get("assignee", services.UNCHANGED),
            note=values["note"],
        )
        return Response(_detail_body(request, self._detail(request, pk)))


def _detail_body(request, ticket: Ticket) -> dict:
    refs = [m.external_ref for m in ticket.messages.all() if m.external_ref]
    attachments = get_backend().attachments(refs=refs, request=request) if refs else {}
    return TicketDetailOutputSerializer(ticket, context={"attachments": attachments}).data


class TicketReplyInputSerializer(serializers.Serializer):
    text = serializers.CharField()
    status = serializers.ChoiceField(
        choices=Ticket.Status.choices, required=False, help_text="status after sending"
    )


class TicketReplyOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    created_at = serializers.DateTimeField()
    delivery_ref = serializers.CharField()
    channel = serializers.CharField()
    delivery_status = serializers.CharField()
    reply_window = ReplyWindowOutputSerializer(allow_null=True)


class TicketReplyCreateApi(APIView):
    """Send a reply to the requester (customer-service or template message)."""

    permission_classes = [IsAgent]

    @extend_schema(request=TicketReplyInputSerializer, responses={201: TicketReplyOutputSerializer})
    def post(self, request, pk: int):
        ticket = _visible(request, pk)
        data = TicketReplyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.ticket_reply_send(
            ticket=ticket,
            author=request.user,
            text=data.validated_data["text"],
            status=data.validated_data.get("status"),
        )
        info = get_backend().delivery_status(refs=[message.delivery_ref]).get(message.delivery_ref)
        body = {
            "id": message.pk,
            "text": message.text,
            "created_at": message.created_at,
            "delivery_ref": message.delivery_ref,
            "channel": info.channel if info else "",
            "delivery_status": info.status if info else "",
            "reply_window": get_backend().reply_window(ticket=ticket),
        }
        return Response(TicketReplyOutputSerializer(body).data, status=status.HTTP_201_CREATED)


class TicketNoteCreateApi(APIView):
    """Add an internal note (never sent to the requester)."""

    permission_classes = [IsAgent]

    class TicketNoteInputSerializer(serializers.Serializer):
        text = serializers.CharField()

    @extend_schema(
        request=TicketNoteInputSerializer, responses={201: TicketMessageOutputSerializer}
    )
    def post(self, request, pk: int):
        ticket = _visible(request, pk)
        data = self.TicketNoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = services.ticket_note_add(
            ticket=ticket, author=request.user, text=data.validated_data["text"]
        )
        return Response(TicketMessageOutputSerializer(note).data, status=status.HTTP_201_CREATED)


class QueueListApi(generics.ListAPIView):
    """The queues the caller works."""

    permission_classes = [IsAgent]
    pagination_class = None

    class QueueOutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Queue
            fields = ["id", "name", "slug", "categories", "is_default"]

    serializer_class = QueueOutputSerializer

    def get_queryset(self):
        return selectors.queues_visible_to(user=self.request.user).order_by("name")


class CannedResponseListApi(APIView):
    """Canned responses; with `?ticket=<id>` only those of its queue, placeholders filled."""

    permission_classes = [IsAgent]

    class CannedOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        title = serializers.CharField()
        text = serializers.CharField()
        filled = serializers.CharField(allow_null=True)
        unfilled = serializers.ListField(child=serializers.CharField())

    @extend_schema(responses=CannedOutputSerializer(many=True))
    def get(self, request):
        ticket_id = request.query_params.get("ticket", "")
        if ticket_id.isdigit():
            ticket = _visible(request, int(ticket_id))
            rows = [
                {"id": r.pk, "title": r.title, "text": r.text, "filled": filled, "unfilled": left}
                for r, filled, left in selectors.canned_for(ticket=ticket, agent=request.user)
            ]
        else:
            rows = [
                {"id": r.pk, "title": r.title, "text": r.text, "filled": None, "unfilled": []}
                for r in CannedResponse.objects.all()
            ]
        return Response(self.CannedOutputSerializer(rows, many=True).data)
