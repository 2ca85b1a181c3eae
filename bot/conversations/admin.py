"""Followers and their conversations, readable by staff."""

from django.contrib import admin
from django.utils.html import format_html_join

from bot.conversations.models import Follower, FollowerTag, Message


@admin.register(FollowerTag)
class FollowerTagAdmin(admin.ModelAdmin):
    list_display = ["name", "wechat_tag_id"]
    search_fields = ["name"]


@admin.register(Follower)
class FollowerAdmin(admin.ModelAdmin):
    list_display = ["openid", "nickname", "subscribed", "last_interaction_at", "subscribed_at"]
    list_filter = ["subscribed", "tags"]
    search_fields = ["openid", "nickname", "remark"]
    readonly_fields = [
        "openid",
        "subscribed",
        "subscribed_at",
        "unsubscribed_at",
        "last_interaction_at",
        "created_at",
        "conversation",
    ]
    fields = [
        "openid",
        "nickname",
        "remark",
        "tags",
        "subscribed",
        "subscribed_at",
        "unsubscribed_at",
        "last_interaction_at",
        "created_at",
        "conversation",
    ]
    filter_horizontal = ["tags"]

    @admin.display(description="对话记录（最近200条）")
    def conversation(self, obj: Follower) -> str:
        messages = list(obj.messages.order_by("-id")[:200])[::-1]
        return format_html_join(
            "",
            '<div style="margin:4px 0"><b>{}</b> <small>{} · {}</small><br>{}</div>',
            (
                (
                    "用户" if m.direction == Message.Direction.IN else "发出",
                    m.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    m.get_channel_display() or m.get_msg_type_display(),
                    m.display_text,
                )
                for m in messages
            ),
        )


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "follower",
        "direction",
        "msg_type",
        "short_text",
        "channel",
        "delivery_status",
        "created_at",
    ]
    list_filter = ["direction", "msg_type", "channel", "delivery_status"]
    search_fields = ["follower__openid", "text", "recognition", "wechat_msg_id"]
    list_select_related = ["follower"]
    raw_id_fields = ["follower", "reply_to"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="内容")
    def short_text(self, obj: Message) -> str:
        text = obj.display_text
        return text if len(text) <= 40 else text[:40] + "…"
