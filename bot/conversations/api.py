"""Read API for agents: followers and their conversations (staff only)."""

from django.http import Http404
from rest_framework import generics, serializers

from bot.conversations import selectors
from bot.conversations.models import Follower, Message


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

    serializer_class = FollowerOutputSerializer

    def get_queryset(self):
        raw = self.request.query_params.get("subscribed")
        subscribed = None if raw is None else raw.lower() in ("1", "true", "yes")
        return selectors.follower_list(
            subscribed=subscribed, search=self.request.query_params.get("search", "")
        )


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

    serializer_class = MessageOutputSerializer

    def get_queryset(self):
        follower = selectors.follower_get(openid=self.kwargs["openid"])
        if follower is None:
            raise Http404
        return selectors.conversation(follower=follower)
