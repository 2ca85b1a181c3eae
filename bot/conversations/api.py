"""Read API for agents: followers and their conversations, through the tickets they see.

A supervisor sees every follower; an agent only the requesters of tickets in the
agent's queues (`tickets.selectors.tickets_visible_to`), so a conversation is never
read by someone who could not open its ticket (docs/security.md).
"""

from django.db.models import QuerySet
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.views import APIView

from bot.conversations import selectors
from bot.conversations.models import Attachment, Follower, Message
from support.roles import IsAgent, user_is_supervisor
from tickets.selectors import tickets_visible_to


def _visible(followers: QuerySet[Follower], user) -> QuerySet[Follower]:
    """Narrow followers to the requesters of the user's visible tickets."""
    if user_is_supervisor(user):
        return followers
    refs = tickets_visible_to(user=user).values("requester_ref")
    return followers.filter(openid__in=refs)


class FollowerListApi(generics.ListAPIView):
    """Followers, most recently active first. `?subscribed=true|false`, `?search=`."""

    class FollowerOutputSerializer(serializers.ModelSerializer):
        tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

        class Meta:
            model = Follower
            fields = [
                "openid",
                "nickname",
                "remark",
                "subscribed",
                "subscribed_at",
                "unsubscribed_at",
                "last_interaction_at",
                "tags",
            ]

    permission_classes = [IsAgent]
    serializer_class = FollowerOutputSerializer

    def get_queryset(self):
        raw = self.request.query_params.get("subscribed")
        subscribed = None if raw is None else raw.lower() in ("1", "true", "yes")
        followers = selectors.follower_list(
            subscribed=subscribed, search=self.request.query_params.get("search", "")
        )
        return _visible(followers, self.request.user)


class FollowerMessagesApi(generics.ListAPIView):
    """One follower's conversation, oldest first."""

    # Distinct names: drf-spectacular names schema components after the class.
    class MessageOutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Message
            fields = [
                "id",
                "direction",
                "msg_type",
                "text",
                "recognition",
                "media_id",
                "pic_url",
                "event",
                "event_key",
                "wechat_msg_id",
                "channel",
                "delivery_status",
                "error_code",
                "wechat_created_at",
                "created_at",
            ]

    permission_classes = [IsAgent]
    serializer_class = MessageOutputSerializer

    def get_queryset(self):
        follower = selectors.follower_get(openid=self.kwargs["openid"])
        # Someone else's follower is a 404, like a missing one: no existence oracle.
        if (
            follower is None
            or not _visible(Follower.objects.filter(pk=follower.pk), self.request.user).exists()
        ):
            raise Http404
        return selectors.conversation(follower=follower)


class AttachmentFileApi(APIView):
    """A kept file of a message (a photo, a voice clip): the same people as its ticket."""

    permission_classes = [IsAgent]

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, pk: int):
        attachment = Attachment.objects.select_related("message__follower").filter(pk=pk).first()
        if attachment is None:
            raise Http404
        visible = _visible(Follower.objects.filter(pk=attachment.message.follower_id), request.user)
        if not visible.exists():
            raise Http404  # never say that it exists
        response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
        response["Cache-Control"] = "private, max-age=3600"
        response["X-Content-Type-Options"] = "nosniff"
        return response
