"""Notices pushed to followers, broadcasts that fan out into notices, incidents."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from bot.conversations.models import Follower, FollowerTag, Message


class NoticeKind(models.TextChoices):
    TICKET_EVENT = "ticket_event", "工单动态"
    INVOICE_CHECK_RESULT = "invoice_check_result", "发票查验结果"
    INVOICE_IN_SYSTEM = "invoice_in_system", "发票已入库"
    INVOICE_WATCH_ENDED = "invoice_watch_ended", "发票跟踪结束"
    INCIDENT_UPDATE = "incident_update", "故障通报"
    BROADCAST = "broadcast", "群发通知"
    SATISFACTION = "satisfaction", "满意度调查"


class NoticeTemplate(models.Model):
    """Which WeChat message carries a notice kind outside the 48-hour window.

    Either a template message (模板消息) or a subscribe message (订阅通知); the latter
    reaches only followers who accepted that subscribe template in WeChat.
    """

    class MessageType(models.TextChoices):
        TEMPLATE = "template", "模板消息"
        SUBSCRIBE = "subscribe", "订阅通知"

    kind = models.CharField("通知类型", max_length=30, choices=NoticeKind.choices, unique=True)
    message_type = models.CharField(
        "消息类型", max_length=10, choices=MessageType.choices, default=MessageType.TEMPLATE
    )
    template_id = models.CharField("模板ID", max_length=64, help_text="模板消息或订阅通知的模板ID")
    # WeChat template field -> text with {placeholders}: text, title, time, link and any
    # key of the notice's template data.
    field_mapping = models.JSONField(
        "字段映射",
        default=dict,
        help_text='例如 {"thing1": "{title}", "thing2": "{text}"}；'
        "订阅通知按字段类型截断（thing 最多20字等）",
    )
    # Subscribe messages only: where tapping the card leads when the notice has no link.
    page = models.CharField("跳转网页（订阅通知）", max_length=500, blank=True)
    active = models.BooleanField("启用", default=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "通知模板"
        verbose_name_plural = "通知模板"
        constraints = [
            models.CheckConstraint(
                condition=Q(message_type__in=["template", "subscribe"]),
                name="notices_template_message_type",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.template_id}"


class Notice(models.Model):
    """One push to one follower; sent at most once per (follower, idempotency key)."""

    class Channel(models.TextChoices):
        NONE = "", "—"
        CUSTOMER_SERVICE = "customer_service", "客服消息"
        TEMPLATE = "template", "模板消息"
        SUBSCRIBE = "subscribe", "订阅通知"

    class Status(models.TextChoices):
        PENDING = "pending", "待发送"
        SENDING = "sending", "发送中"
        SENT = "sent", "已发送"
        SIMULATED = "simulated", "模拟器（未真实发送）"
        FAILED = "failed", "发送失败"
        # The worker died mid-call on a channel WeChat cannot deduplicate: never resent.
        UNKNOWN = "unknown", "结果未知"
        CANCELLED = "cancelled", "已取消"

    OPEN_STATUSES = (Status.PENDING, Status.SENDING)
    DONE_OK = (Status.SENT, Status.SIMULATED)
    DONE_BAD = (Status.FAILED, Status.UNKNOWN)

    kind = models.CharField("类型", max_length=30, choices=NoticeKind.choices)
    follower = models.ForeignKey(
        Follower, on_delete=models.PROTECT, related_name="notices", verbose_name="粉丝"
    )
    idempotency_key = models.CharField("幂等键", max_length=120)
    text = models.TextField("内容")
    url = models.CharField("链接", max_length=500, blank=True)
    template_data = models.JSONField("模板数据", null=True, blank=True)
    broadcast = models.ForeignKey(
        "Broadcast",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notices",
        verbose_name="群发",
    )
    channel = models.CharField(
        "渠道", max_length=20, choices=Channel.choices, blank=True, default=""
    )
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    claim_token = models.CharField("领取标记", max_length=32, blank=True)
    wechat_msg_id = models.CharField("微信MsgId", max_length=64, blank=True)
    error_code = models.IntegerField("错误码", null=True, blank=True)
    error_message = models.CharField("错误信息", max_length=255, blank=True)
    # The outbound Message mirroring this notice: conversation views, simulator, receipts.
    message = models.OneToOneField(
        Message,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notice",
        verbose_name="消息记录",
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    queued_at = models.DateTimeField("入队时间", null=True, blank=True)
    claimed_at = models.DateTimeField("领取时间", null=True, blank=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)

    class Meta:
        verbose_name = "通知"
        verbose_name_plural = "通知"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["follower", "idempotency_key"], name="notices_notice_once_per_follower"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "pending",
                        "sending",
                        "sent",
                        "simulated",
                        "failed",
                        "unknown",
                        "cancelled",
                    ]
                ),
                name="notices_notice_status",
            ),
        ]
        indexes = [
            models.Index(fields=["broadcast", "status"], name="notices_notice_bcast_status"),
            models.Index(fields=["status", "claimed_at"], name="notices_notice_status_claim"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.follower_id} #{self.pk}"


class Broadcast(models.Model):
    """A notice written once and pushed to an audience of followers."""

    class Audience(models.TextChoices):
        ALL = "all", "全部已关注粉丝"
        TAG = "tag", "微信标签"
        INTENT = "intent", "咨询过某主题（意图）"
        REGION = "region", "查验过某地区发票"
        INCIDENT = "incident", "故障影响的粉丝"

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        SCHEDULED = "scheduled", "已定时"
        SENDING = "sending", "发送中"
        DONE = "done", "已完成"
        # Finished, but some notices' outcome is unknown (a worker died mid-call).
        DONE_WITH_UNKNOWNS = "done_unknowns", "已完成（部分结果未知）"
        FAILED = "failed", "发送失败"
        CANCELLED = "cancelled", "已取消"

    kind = models.CharField(
        "通知类型", max_length=30, choices=NoticeKind.choices, default=NoticeKind.BROADCAST
    )
    title = models.CharField("标题", max_length=60, blank=True)
    text = models.TextField("内容")
    link = models.URLField("链接", max_length=500, blank=True)
    audience = models.CharField("受众", max_length=10, choices=Audience.choices)
    tag = models.ForeignKey(
        FollowerTag, on_delete=models.PROTECT, null=True, blank=True, verbose_name="标签"
    )
    intent = models.CharField("意图", max_length=40, blank=True)
    region = models.CharField("地区", max_length=20, blank=True)
    since = models.DateTimeField("起始时间", null=True, blank=True)
    until = models.DateTimeField("截止时间", null=True, blank=True)
    incident = models.ForeignKey(
        "Incident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="broadcasts",
        verbose_name="故障",
    )
    # WeChat 群发 by tag instead of one message per follower (limited per month, see docs).
    use_mass_send = models.BooleanField("使用微信群发接口", default=False)
    mass_msg_id = models.CharField("群发MsgId", max_length=64, blank=True)
    error_message = models.CharField("错误信息", max_length=255, blank=True)
    preview_follower = models.ForeignKey(
        Follower,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="预览粉丝",
    )
    status = models.CharField("状态", max_length=20, choices=Status.choices, default=Status.DRAFT)
    scheduled_at = models.DateTimeField("定时发送时间", null=True, blank=True)
    # Keyset cursor of the audience expansion: resumable after a lost worker.
    cursor = models.BigIntegerField("展开游标", default=0)
    expanded = models.BooleanField("受众已展开", default=False)
    total = models.PositiveIntegerField("总数", default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="创建人",
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = "群发通知"
        verbose_name_plural = "群发通知"
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(audience="tag") | Q(tag__isnull=False),
                name="notices_broadcast_tag_needs_tag",
            ),
            models.CheckConstraint(
                condition=~Q(audience="incident") | Q(incident__isnull=False),
                name="notices_broadcast_incident_needs_incident",
            ),
            models.CheckConstraint(
                condition=~Q(audience="intent") | ~Q(intent=""),
                name="notices_broadcast_intent_needs_intent",
            ),
            models.CheckConstraint(
                condition=~Q(audience="region") | ~Q(region=""),
                name="notices_broadcast_region_needs_region",
            ),
            models.CheckConstraint(
                condition=Q(use_mass_send=False) | Q(audience__in=["all", "tag"]),
                name="notices_broadcast_mass_send_by_tag",
            ),
        ]
        indexes = [models.Index(fields=["status", "scheduled_at"], name="notices_bcast_due")]

    def __str__(self) -> str:
        return self.title or self.text[:30]

    @property
    def idempotency_key(self) -> str:
        return f"broadcast:{self.pk}"


class Incident(models.Model):
    """A known problem of the invoice systems, told to the followers it affects."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "待确认（自动检测）"
        INVESTIGATING = "investigating", "调查中"
        IDENTIFIED = "identified", "已定位"
        MONITORING = "monitoring", "观察中"
        RESOLVED = "resolved", "已解决"
        DISMISSED = "dismissed", "已驳回"

    ACTIVE_STATUSES = (Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING)
    PUBLIC_STATUSES = (*ACTIVE_STATUSES, Status.RESOLVED)
    CLOSED_STATUSES = (Status.RESOLVED, Status.DISMISSED)

    title = models.CharField("标题", max_length=100)
    region = models.CharField("影响地区", max_length=20, blank=True)
    issuer = models.CharField("影响开票方（税号）", max_length=32, blank=True)
    system = models.CharField("影响系统", max_length=50, blank=True)
    status = models.CharField(
        "状态", max_length=15, choices=Status.choices, default=Status.INVESTIGATING
    )
    # What the detector grouped by ("region:北京", "intent:system_outage"); blank if manual.
    detection_key = models.CharField("检测键", max_length=80, blank=True)
    detection = models.JSONField("检测依据", default=dict, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    confirmed_at = models.DateTimeField("确认时间", null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="确认人",
    )
    resolved_at = models.DateTimeField("解决时间", null=True, blank=True)
    followers = models.ManyToManyField(
        Follower, through="IncidentFollower", related_name="incidents", verbose_name="受影响粉丝"
    )

    class Meta:
        verbose_name = "故障事件"
        verbose_name_plural = "故障事件"
        ordering = ["-id"]
        constraints = [
            # The detector proposes one open incident per group, however often it runs.
            models.UniqueConstraint(
                fields=["detection_key"],
                condition=~Q(detection_key="") & ~Q(status__in=["resolved", "dismissed"]),
                name="notices_incident_one_open_per_key",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class IncidentFollower(models.Model):
    """A follower affected by an incident: told about each public update."""

    class Source(models.TextChoices):
        DETECTED = "detected", "检测时命中"
        DIALOG = "dialog", "咨询时命中"
        MANUAL = "manual", "人工添加"

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="affected", verbose_name="故障"
    )
    follower = models.ForeignKey(
        Follower, on_delete=models.CASCADE, related_name="+", verbose_name="粉丝"
    )
    source = models.CharField("来源", max_length=10, choices=Source.choices)
    linked_at = models.DateTimeField("关联时间", auto_now_add=True)
    # When the bot told this follower about the incident in conversation.
    told_at = models.DateTimeField("已在对话中告知", null=True, blank=True)

    class Meta:
        verbose_name = "受影响粉丝"
        verbose_name_plural = "受影响粉丝"
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "follower"], name="notices_incident_follower_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} · {self.follower_id}"


class IncidentUpdate(models.Model):
    """A public update of an incident; pushed to the affected followers as a broadcast."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="updates", verbose_name="故障"
    )
    status = models.CharField("状态", max_length=15, choices=Incident.Status.choices)
    body = models.TextField("公告内容")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="发布人",
    )
    broadcast = models.OneToOneField(
        Broadcast,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incident_update",
        verbose_name="推送",
    )
    created_at = models.DateTimeField("发布时间", auto_now_add=True)

    class Meta:
        verbose_name = "故障公告"
        verbose_name_plural = "故障公告"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_status_display()} · {self.created_at:%Y-%m-%d %H:%M}"
