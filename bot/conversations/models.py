"""Followers of the official account and every message exchanged with them."""

from django.db import models
from django.db.models import Q


class FollowerTag(models.Model):
    """A WeChat user tag (标签), mirrored locally for audiences and filters."""

    name = models.CharField("名称", max_length=30, unique=True)
    wechat_tag_id = models.IntegerField("微信标签ID", null=True, blank=True, unique=True)

    class Meta:
        db_table = "wechat_followertag"  # created by the WeChat app's migrations
        verbose_name = "粉丝标签"
        verbose_name_plural = "粉丝标签"

    def __str__(self) -> str:
        return self.name


class Follower(models.Model):
    """A WeChat user known by openid; kept after unsubscribe so history survives."""

    openid = models.CharField("OpenID", max_length=64, unique=True)
    subscribed = models.BooleanField("已关注", default=False)
    subscribed_at = models.DateTimeField("关注时间", null=True, blank=True)
    unsubscribed_at = models.DateTimeField("取消关注时间", null=True, blank=True)
    # Decides WeChat's 48-hour customer-service window.
    last_interaction_at = models.DateTimeField("最后互动时间", null=True, blank=True, db_index=True)
    nickname = models.CharField("昵称", max_length=100, blank=True)
    remark = models.CharField("备注", max_length=100, blank=True)
    tags = models.ManyToManyField(
        FollowerTag, blank=True, related_name="followers", verbose_name="标签"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        db_table = "wechat_follower"
        verbose_name = "粉丝"
        verbose_name_plural = "粉丝"
        ordering = ["-last_interaction_at", "-id"]

    def __str__(self) -> str:
        return self.nickname or self.openid


class Message(models.Model):
    """One message in or out; inbound ones are unique per WeChat delivery (dedup_key)."""

    class Direction(models.TextChoices):
        IN = "in", "收到"
        OUT = "out", "发出"

    class Type(models.TextChoices):
        TEXT = "text", "文本"
        IMAGE = "image", "图片"
        VOICE = "voice", "语音"
        VIDEO = "video", "视频"
        SHORTVIDEO = "shortvideo", "小视频"
        LOCATION = "location", "位置"
        LINK = "link", "链接"
        EVENT = "event", "事件"
        TEMPLATE = "template", "模板消息"
        UNKNOWN = "unknown", "未知"

    class Channel(models.TextChoices):
        PASSIVE = "passive", "被动回复"
        CUSTOMER_SERVICE = "customer_service", "客服消息"
        TEMPLATE = "template", "模板消息"
        SUBSCRIBE = "subscribe", "订阅通知"

    class Delivery(models.TextChoices):
        NONE = "", "—"
        PENDING = "pending", "待发送"
        SENT = "sent", "已发送"
        DELIVERED = "delivered", "已送达"
        FAILED = "failed", "发送失败"
        SIMULATED = "simulated", "模拟器（未真实发送）"

    follower = models.ForeignKey(
        Follower, on_delete=models.PROTECT, related_name="messages", verbose_name="粉丝"
    )
    direction = models.CharField("方向", max_length=3, choices=Direction.choices)
    msg_type = models.CharField("类型", max_length=16, choices=Type.choices)
    text = models.TextField("内容", blank=True)
    media_id = models.CharField("MediaId", max_length=128, blank=True)
    pic_url = models.URLField("图片地址", max_length=1024, blank=True)
    recognition = models.TextField("语音识别结果", blank=True)
    event = models.CharField("事件", max_length=40, blank=True)
    event_key = models.CharField("事件KEY", max_length=256, blank=True)
    wechat_msg_id = models.CharField("微信MsgId", max_length=64, blank=True, db_index=True)
    # "msg:<openid>:<MsgId>" or "evt:<openid>:<CreateTime>:<Event>:<EventKey>"; inbound only.
    # NULL (not "") for outbound rows, so the unique constraint covers inbound ones only.
    dedup_key = models.CharField(  # noqa: DJ001
        "去重键", max_length=400, null=True, blank=True
    )
    raw = models.TextField("原始报文", blank=True)
    wechat_created_at = models.DateTimeField("微信时间", null=True, blank=True)
    created_at = models.DateTimeField("记录时间", auto_now_add=True, db_index=True)
    reply_to = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="replies",
        verbose_name="回复的消息",
    )
    # The intent the bot understood (nlu/intents.md id): audiences and incident detection read it.
    intent = models.CharField("意图", max_length=40, blank=True, db_index=True)
    channel = models.CharField("渠道", max_length=20, choices=Channel.choices, blank=True)
    delivery_status = models.CharField(
        "送达状态", max_length=12, choices=Delivery.choices, blank=True, default=""
    )
    error_code = models.IntegerField("错误码", null=True, blank=True)
    error_message = models.CharField("错误信息", max_length=255, blank=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)
    template_id = models.CharField("模板ID", max_length=64, blank=True)
    payload = models.JSONField("发送内容", null=True, blank=True)

    class Meta:
        db_table = "wechat_message"
        verbose_name = "消息"
        verbose_name_plural = "消息"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["dedup_key"], name="wechat_message_unique_delivery"),
            models.CheckConstraint(
                condition=Q(direction="out") | Q(dedup_key__isnull=False),
                name="wechat_message_inbound_has_dedup_key",
            ),
        ]
        indexes = [models.Index(fields=["follower", "id"], name="wechat_msg_follower_idx")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.get_msg_type_display()} #{self.pk}"

    @property
    def display_text(self) -> str:
        """What a person reads for this message in a conversation view."""
        if self.msg_type == self.Type.VOICE:
            return self.recognition or "[语音]"
        if self.msg_type == self.Type.IMAGE:
            return "[图片]"
        if self.msg_type == self.Type.EVENT:
            return f"[事件 {self.event} {self.event_key}]".strip()
        return self.text


class Attachment(models.Model):
    """A file of an inbound message, fetched once and kept (WeChat media expire in 3 days)."""

    class Kind(models.TextChoices):
        IMAGE = "image", "图片"
        VOICE = "voice", "语音"

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments", verbose_name="消息"
    )
    kind = models.CharField("类型", max_length=10, choices=Kind.choices)
    file = models.FileField("文件", upload_to="conversations/%Y/%m/%d/")
    content_type = models.CharField("内容类型", max_length=100)
    size = models.PositiveIntegerField("大小（字节）", default=0)
    created_at = models.DateTimeField("保存时间", auto_now_add=True)

    class Meta:
        verbose_name = "附件"
        verbose_name_plural = "附件"
        constraints = [
            # One kept file per message and kind: a retried delivery never stores it twice.
            models.UniqueConstraint(
                fields=["message", "kind"], name="conversations_attachment_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"
