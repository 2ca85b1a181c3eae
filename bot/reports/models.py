"""The reports' own rows: rollups of everyone else's data, alarm episodes, mining actions.

Nothing here is a source of truth: every rollup can be rebuilt from the messages,
tickets and checks it was read from (`reports_refresh`, `reports_rebuild`).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from bot.reports.definitions import TurnOutcome, UnansweredReason


class RollupDay(models.Model):
    """A local day whose rollups are built; `settled` once its figures can no longer change."""

    day = models.DateField("日期", unique=True)
    built_at = models.DateTimeField("生成时间")
    settled = models.BooleanField("已定稿", default=False)

    class Meta:
        verbose_name = "已汇总日期"
        verbose_name_plural = "已汇总日期"
        ordering = ["-day"]

    def __str__(self) -> str:
        return str(self.day)


class DailyRollup(models.Model):
    """One day's conversation figures of one queue (the queue a conversation belongs to)."""

    day = models.DateField("日期")
    queue_id = models.BigIntegerField("队列", null=True, blank=True)
    conversations = models.PositiveIntegerField("会话", default=0)
    messages_in = models.PositiveIntegerField("收到消息", default=0)
    bot_answered = models.PositiveIntegerField("机器人解答", default=0)
    escalated = models.PositiveIntegerField("转人工", default=0)
    contained = models.PositiveIntegerField("闭环解决", default=0)
    unanswered = models.PositiveIntegerField("未解答", default=0)
    rated_useless = models.PositiveIntegerField("被评没用", default=0)
    # {intent: follower messages}, and follower messages per local hour (24 numbers).
    intents = models.JSONField("意图", default=dict)
    hours = models.JSONField("每小时消息", default=list)

    class Meta:
        verbose_name = "每日会话汇总"
        verbose_name_plural = "每日会话汇总"
        ordering = ["day", "queue_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "queue_id"],
                condition=Q(queue_id__isnull=False),
                name="reports_daily_day_queue",
            ),
            models.UniqueConstraint(
                fields=["day"], condition=Q(queue_id__isnull=True), name="reports_daily_day_noqueue"
            ),
            models.CheckConstraint(
                condition=Q(escalated__lte=models.F("conversations"))
                & Q(contained__lte=models.F("conversations"))
                & Q(unanswered__lte=models.F("conversations")),
                name="reports_daily_parts_of_conversations",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} · {self.queue_id}"


class DailyChecks(models.Model):
    """How many invoice checks of one day had one result, cause, region or issuer."""

    class Dimension(models.TextChoices):
        RESULT = "result", "查验结果"
        DIAGNOSIS = "diagnosis", "诊断"
        REGION = "region", "地区"
        ISSUER = "issuer", "开票方"

    day = models.DateField("日期")
    dimension = models.CharField("维度", max_length=10, choices=Dimension.choices)
    value = models.CharField("取值", max_length=32, blank=True)
    count = models.PositiveIntegerField("次数")

    class Meta:
        verbose_name = "每日查验汇总"
        verbose_name_plural = "每日查验汇总"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "dimension", "value"], name="reports_checks_once"
            ),
            models.CheckConstraint(
                condition=Q(dimension__in=["result", "diagnosis", "region", "issuer"]),
                name="reports_checks_dimension",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.dimension}={self.value}: {self.count}"


class ReportConversation(models.Model):
    """One conversation of a built day, as the figures counted it (drill-down reads these)."""

    day = models.DateField("日期")
    follower = models.ForeignKey(
        "conversations.Follower", on_delete=models.CASCADE, related_name="+", verbose_name="粉丝"
    )
    # The conversation's first message: its identity (a rebuild writes the same row).
    first_message_id = models.BigIntegerField("首条消息", unique=True)
    last_message_id = models.BigIntegerField("末条消息")
    started_at = models.DateTimeField("开始")
    ended_at = models.DateTimeField("结束")
    messages_in = models.PositiveIntegerField("消息数")
    answered_turns = models.PositiveIntegerField("知识库回答数", default=0)
    main_intent = models.CharField("意图", max_length=40, blank=True)
    last_outcome = models.CharField(
        "最后一轮", max_length=12, choices=[(o.value, o.value) for o in TurnOutcome], blank=True
    )
    last_entry = models.CharField("最后回答条目", max_length=60, blank=True)
    queue_id = models.BigIntegerField("队列", null=True, blank=True)
    ticket_id = models.BigIntegerField("工单", null=True, blank=True)
    bot_answered = models.BooleanField("机器人解答", default=False)
    escalated = models.BooleanField("转人工", default=False)
    contained = models.BooleanField("闭环解决", default=False)
    unanswered = models.BooleanField("未解答", default=False)
    rated_useless = models.BooleanField("被评没用", default=False)

    class Meta:
        verbose_name = "会话"
        verbose_name_plural = "会话"
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["day", "queue_id"], name="reports_conv_day_queue"),
            models.Index(fields=["follower", "started_at"], name="reports_conv_follower"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~(Q(escalated=True) & Q(contained=True)),
                name="reports_conv_contained_not_escalated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} {self.started_at:%Y-%m-%d %H:%M}"


class ReportUnanswered(models.Model):
    """A follower message of a built day that mining looks at (out of scope, fallback …)."""

    message_id = models.BigIntegerField("消息", unique=True)
    day = models.DateField("日期", db_index=True)
    follower_id = models.BigIntegerField("粉丝")
    created_at = models.DateTimeField("时间")
    reason = models.CharField(
        "原因", max_length=20, choices=[(r.value, r.value) for r in UnansweredReason]
    )
    text = models.CharField("内容", max_length=200)

    class Meta:
        verbose_name = "未解答消息"
        verbose_name_plural = "未解答消息"
        ordering = ["created_at", "message_id"]

    def __str__(self) -> str:
        return self.text[:40]


class ReportTicket(models.Model):
    """A ticket's figures in business time (tickets.business_hours), kept current."""

    ticket = models.OneToOneField(
        "tickets.Ticket",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
        verbose_name="工单",
    )
    queue_id = models.BigIntegerField("队列")
    assignee_id = models.BigIntegerField("处理人", null=True, blank=True)
    status = models.CharField("状态", max_length=10)
    created_at = models.DateTimeField("创建时间")
    resolved_at = models.DateTimeField("解决时间", null=True, blank=True)
    first_response_seconds = models.PositiveIntegerField("首次响应（工作秒）", null=True)
    resolution_seconds = models.PositiveIntegerField("解决用时（工作秒）", null=True)
    # None while undecided: no response yet and no breach recorded.
    first_response_met = models.BooleanField("首响达标", null=True)
    satisfaction = models.PositiveSmallIntegerField("满意度", null=True)
    satisfaction_at = models.DateTimeField("评价时间", null=True)
    computed_at = models.DateTimeField("计算时间")

    class Meta:
        verbose_name = "工单指标"
        verbose_name_plural = "工单指标"
        indexes = [
            models.Index(fields=["created_at"], name="reports_ticket_created"),
            models.Index(fields=["queue_id", "created_at"], name="reports_ticket_queue"),
            models.Index(fields=["satisfaction_at"], name="reports_ticket_rated"),
            models.Index(fields=["resolved_at"], name="reports_ticket_resolved"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True)
                | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="reports_ticket_satisfaction_1_5",
            ),
        ]

    def __str__(self) -> str:
        return str(self.ticket_id)


class Watermark(models.Model):
    """How far an incremental refresh got (the last time or id it read)."""

    name = models.CharField("名称", max_length=40, unique=True)
    at = models.DateTimeField("时间", null=True, blank=True)
    last_id = models.BigIntegerField("最后ID", default=0)

    class Meta:
        verbose_name = "刷新进度"
        verbose_name_plural = "刷新进度"

    def __str__(self) -> str:
        return self.name


class AlarmKind(models.TextChoices):
    VERIFY_UPSTREAM = "verify_upstream", "上游查验异常率"
    WEBHOOK = "webhook", "Webhook 拒绝/错误率"
    NOTICES = "notices", "通知发送失败率"
    UNANSWERED = "unanswered", "未解答占比"


class AlarmEpisode(models.Model):
    """One stretch of time a failure rate stayed above its threshold: alerted once."""

    kind = models.CharField("告警", max_length=20, choices=AlarmKind.choices)
    opened_at = models.DateTimeField("开始时间")
    closed_at = models.DateTimeField("恢复时间", null=True, blank=True)
    threshold = models.FloatField("阈值")
    window_minutes = models.PositiveIntegerField("统计窗口（分钟）")
    rate = models.FloatField("触发时比率")
    peak_rate = models.FloatField("最高比率")
    last_rate = models.FloatField("最近比率")
    failures = models.PositiveIntegerField("失败数")
    total = models.PositiveIntegerField("总数")
    notified_at = models.DateTimeField("通知时间", null=True, blank=True)
    notified = models.JSONField("已通知", default=list, blank=True)

    class Meta:
        verbose_name = "告警"
        verbose_name_plural = "告警"
        ordering = ["-opened_at", "-id"]
        constraints = [
            # Once per episode: at most one open episode of each kind.
            models.UniqueConstraint(
                fields=["kind"], condition=Q(closed_at__isnull=True), name="reports_alarm_one_open"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=AlarmKind.values), name="reports_alarm_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.opened_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class ClusterAction(models.Model):
    """A supervisor taught the knowledge base an unanswered cluster's wording."""

    class Kind(models.TextChoices):
        PARAPHRASES = "paraphrases", "加为相似问法"
        NEW_ENTRY = "new_entry", "新建条目"

    kind = models.CharField("操作", max_length=12, choices=Kind.choices)
    label = models.CharField("聚类", max_length=200)
    texts = models.JSONField("加入的问法", default=list)
    entry_key = models.CharField("问答条目", max_length=60)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="操作人",
    )
    created_at = models.DateTimeField("操作时间", auto_now_add=True)

    class Meta:
        verbose_name = "未解答问题处理"
        verbose_name_plural = "未解答问题处理"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["paraphrases", "new_entry"]), name="reports_action_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} → {self.entry_key}"
