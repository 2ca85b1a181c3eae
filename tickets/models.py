"""Help-desk models: queues, agents, tickets, their conversation and audit trail."""

import operator
from functools import reduce

from django.conf import settings
from django.db import models
from django.db.models import Q


class Priority(models.TextChoices):
    """Ticket priority, lowest first; the order is the escalation ladder."""

    LOW = "low", "低"
    NORMAL = "normal", "普通"
    HIGH = "high", "高"
    URGENT = "urgent", "紧急"

    @classmethod
    def ladder(cls) -> list[str]:
        return [choice.value for choice in cls]


class Holiday(models.Model):
    """A day that breaks the weekly pattern: a public holiday, or a make-up working day (调休)."""

    date = models.DateField("日期", unique=True)
    name = models.CharField("名称", max_length=50, blank=True)
    # True: a weekend day worked to make up for a holiday; False: a day off.
    is_workday = models.BooleanField("调休上班日", default=False)

    class Meta:
        verbose_name = "节假日"
        verbose_name_plural = "节假日"
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class Queue(models.Model):
    """A line of work (发票查验, 开票问题, 投诉) that takes tickets of some intents."""

    name = models.CharField("名称", max_length=50, unique=True)
    slug = models.SlugField("标识", max_length=50, unique=True)
    # Intent ids (nlu/intents.md) routed to this queue.
    categories = models.JSONField("受理类别", default=list, blank=True)
    is_default = models.BooleanField("默认队列", default=False)

    class Meta:
        verbose_name = "队列"
        verbose_name_plural = "队列"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="tickets_queue_one_default",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SlaTarget(models.Model):
    """Targets of one queue and priority, in business minutes."""

    queue = models.ForeignKey(
        Queue, on_delete=models.CASCADE, related_name="sla_targets", verbose_name="队列"
    )
    priority = models.CharField("优先级", max_length=10, choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField("首次响应时限（工作分钟）")
    resolution_minutes = models.PositiveIntegerField("解决时限（工作分钟）")

    class Meta:
        verbose_name = "SLA 目标"
        verbose_name_plural = "SLA 目标"
        constraints = [
            models.UniqueConstraint(
                fields=["queue", "priority"], name="tickets_sla_queue_priority"
            ),
            models.CheckConstraint(
                condition=Q(first_response_minutes__gt=0) & Q(resolution_minutes__gt=0),
                name="tickets_sla_positive",
            ),
            models.CheckConstraint(
                condition=Q(priority__in=Priority.values), name="tickets_sla_priority_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.queue} · {self.get_priority_display()}"


class AgentProfile(models.Model):
    """A staff user working tickets of some queues."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="agent_profile",
        verbose_name="用户",
    )
    queues = models.ManyToManyField(
        Queue, blank=True, related_name="agents", verbose_name="所属队列"
    )
    # The name the requester sees ({agent_name}); empty: the user's full name, else 客服.
    display_name = models.CharField("对外显示名", max_length=50, blank=True)
    on_duty = models.BooleanField("在岗", default=False)
    capacity = models.PositiveIntegerField("同时处理上限", default=10)
    is_supervisor = models.BooleanField("主管", default=False)
    # The channel's id of the agent (e.g. their WeChat openid) for alerts; empty = no alerts.
    notify_ref = models.CharField("提醒接收标识", max_length=64, blank=True)
    # Round-robin order: the agent assigned longest ago goes next.
    last_assigned_at = models.DateTimeField("最近分配时间", null=True, blank=True)

    class Meta:
        verbose_name = "客服"
        verbose_name_plural = "客服"

    def __str__(self) -> str:
        return str(self.user)


class TicketCounter(models.Model):
    """The last ticket sequence number handed out on one local day."""

    day = models.DateField("日期", unique=True)
    last = models.PositiveIntegerField("最后序号", default=0)

    class Meta:
        verbose_name = "工单编号计数"
        verbose_name_plural = "工单编号计数"

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


# The clocks' recorded breaches (set by the SLA check, once per clock). A ticket is
# "SLA breached" when any is set: `Ticket.sla_breached` in Python, `sla_breached_q()` in SQL.
SLA_BREACH_FIELDS = ("first_response_breached_at", "resolution_breached_at")


def sla_breached_q() -> Q:
    """Tickets with a breach recorded on any clock (the filter form of `Ticket.sla_breached`)."""
    return reduce(operator.or_, (Q(**{f"{name}__isnull": False}) for name in SLA_BREACH_FIELDS))


class Ticket(models.Model):
    """One request for a person, from one requester, worked in one queue."""

    class Status(models.TextChoices):
        NEW = "new", "新建"
        OPEN = "open", "处理中"
        PENDING = "pending", "等待用户"
        RESOLVED = "resolved", "已解决"
        CLOSED = "closed", "已关闭"

    ACTIVE_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)

    number = models.CharField("工单号", max_length=20, unique=True)
    # The channel's opaque id of the person (the WeChat openid).
    requester_ref = models.CharField("用户标识", max_length=64, db_index=True)
    requester_name = models.CharField("用户昵称", max_length=100, blank=True)
    queue = models.ForeignKey(
        Queue, on_delete=models.PROTECT, related_name="tickets", verbose_name="队列"
    )
    status = models.CharField(
        "状态", max_length=10, choices=Status.choices, default=Status.NEW, db_index=True
    )
    priority = models.CharField(
        "优先级", max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    subject = models.CharField("主题", max_length=200)
    category = models.CharField("类别", max_length=40, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name="处理人",
    )
    tags = models.JSONField("标签", default=list, blank=True)

    created_at = models.DateTimeField("创建时间")
    first_response_at = models.DateTimeField("首次人工响应时间", null=True, blank=True)
    resolved_at = models.DateTimeField("解决时间", null=True, blank=True)
    closed_at = models.DateTimeField("关闭时间", null=True, blank=True)

    first_response_due = models.DateTimeField("首次响应截止", null=True, blank=True)
    resolution_due = models.DateTimeField("解决截止", null=True, blank=True)
    # The SLA clock stops while the ticket waits on the requester (or sits resolved).
    sla_paused_at = models.DateTimeField("SLA 暂停于", null=True, blank=True)
    sla_paused_minutes = models.PositiveIntegerField("SLA 累计暂停（工作分钟）", default=0)
    first_response_breached_at = models.DateTimeField("首次响应超时于", null=True, blank=True)
    resolution_breached_at = models.DateTimeField("解决超时于", null=True, blank=True)

    updated_at = models.DateTimeField("最后更新", db_index=True)
    last_requester_message_at = models.DateTimeField("用户最后留言", null=True, blank=True)
    last_agent_message_at = models.DateTimeField("客服最后回复", null=True, blank=True)

    # What the channel knew when it escalated: the invoices (fields, verification
    # history, diagnosis), as a snapshot because tickets never import the bot.
    invoices = models.JSONField("相关发票", default=list, blank=True)
    # Space-separated invoice numbers of `invoices`, for search.
    invoice_numbers = models.CharField("发票号码", max_length=500, blank=True)
    escalation_reason = models.CharField("转人工原因", max_length=20, blank=True)

    satisfaction = models.PositiveSmallIntegerField("满意度", null=True, blank=True)
    satisfaction_at = models.DateTimeField("评价时间", null=True, blank=True)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_tickets",
        verbose_name="合并到",
    )

    class Meta:
        verbose_name = "工单"
        verbose_name_plural = "工单"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["requester_ref"],
                condition=Q(status__in=["new", "open", "pending"], merged_into__isnull=True),
                name="tickets_one_open_per_requester",
            ),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True)
                | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="tickets_satisfaction_1_5",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["new", "open", "pending", "resolved", "closed"]),
                name="tickets_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(priority__in=Priority.values), name="tickets_priority_valid"
            ),
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True) | Q(status="closed"),
                name="tickets_merged_is_closed",
            ),
        ]
        indexes = [
            models.Index(fields=["queue", "status"], name="tickets_queue_status"),
            models.Index(fields=["assignee", "status"], name="tickets_assignee_status"),
            # The queue views: newest first, overall, per status and per queue.
            models.Index(fields=["-created_at", "-id"], name="tickets_newest"),
            models.Index(fields=["status", "-created_at"], name="tickets_status_newest"),
            models.Index(fields=["queue", "-created_at"], name="tickets_queue_newest"),
            # Sorting the queue view by a column: Django orders by (column, -id).
            models.Index(fields=["queue", "-id"], name="tickets_queue_id"),
            models.Index(fields=["status", "-id"], name="tickets_status_id"),
            models.Index(fields=["priority", "-id"], name="tickets_priority_id"),
            models.Index(fields=["assignee", "-id"], name="tickets_assignee_id"),
            # Small partial indexes for the SLA filters and the beat tasks.
            models.Index(
                fields=["-created_at"],
                name="tickets_breached_newest",
                condition=sla_breached_q(),
            ),
            models.Index(
                fields=["-created_at"],
                name="tickets_active_newest",
                condition=Q(status__in=["new", "open", "pending"]),
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def sla_breached(self) -> bool:
        """A breach is recorded on any SLA clock (see `sla_breached_q`)."""
        return any(getattr(self, name) is not None for name in SLA_BREACH_FIELDS)


class TicketInvoiceNumber(models.Model):
    """One invoice number a ticket involves: an indexed copy of `Ticket.invoices` for search."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="invoice_refs", verbose_name="工单"
    )
    number = models.CharField("发票号码", max_length=30, db_index=True)

    class Meta:
        verbose_name = "工单发票号码"
        verbose_name_plural = "工单发票号码"
        constraints = [
            models.UniqueConstraint(fields=["ticket", "number"], name="tickets_invoice_number_once")
        ]

    def __str__(self) -> str:
        return self.number


class TicketMessage(models.Model):
    """One entry of a ticket's conversation, including bot turns and internal notes."""

    class AuthorKind(models.TextChoices):
        USER = "user", "用户"
        BOT = "bot", "机器人"
        AGENT = "agent", "客服"
        NOTE = "note", "内部备注"

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="messages", verbose_name="工单"
    )
    author_kind = models.CharField("作者类型", max_length=10, choices=AuthorKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ticket_messages",
        verbose_name="作者",
    )
    text = models.TextField("内容")
    created_at = models.DateTimeField("时间", db_index=True)
    # The channel's id of the message (WeChat MsgId): the same delivery joins a ticket once.
    external_ref = models.CharField(  # noqa: DJ001 - NULL keeps it out of the unique constraint
        "渠道消息ID", max_length=64, null=True, blank=True
    )
    # What the notify backend returned for an outgoing agent reply: it reports delivery.
    delivery_ref = models.CharField("投递标识", max_length=64, blank=True)

    class Meta:
        verbose_name = "工单消息"
        verbose_name_plural = "工单消息"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "external_ref"],
                condition=Q(external_ref__isnull=False),
                name="tickets_message_external_ref_once",
            ),
            models.CheckConstraint(
                condition=Q(author_kind__in=["user", "bot", "agent", "note"]),
                name="tickets_message_author_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}:{self.author_kind}:{self.text[:20]}"


class TicketEvent(models.Model):
    """The audit trail: who changed what on a ticket, and when."""

    class Action(models.TextChoices):
        CREATED = "created", "创建"
        STATUS = "status", "状态变更"
        ASSIGNED = "assigned", "分配"
        PRIORITY = "priority", "优先级变更"
        MERGED = "merged", "合并"
        MERGED_FROM = "merged_from", "被合并"
        RATED = "rated", "评价"
        REOPENED = "reopened", "重新打开"
        TAGS = "tags", "标签变更"
        FIRST_RESPONSE = "first_response", "首次响应"
        SLA_BREACHED = "sla_breached", "SLA 超时"

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="events", verbose_name="工单"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ticket_events",
        verbose_name="操作人",
    )
    action = models.CharField("动作", max_length=20, choices=Action.choices)
    from_value = models.JSONField("原值", null=True, blank=True)
    to_value = models.JSONField("新值", null=True, blank=True)
    note = models.TextField("说明", blank=True)
    at = models.DateTimeField("时间", db_index=True)

    class Meta:
        verbose_name = "工单记录"
        verbose_name_plural = "工单记录"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket_id}:{self.action}"


class CannedResponse(models.Model):
    """A prepared reply; placeholders like {ticket_number} are filled for the ticket."""

    title = models.CharField("标题", max_length=100)
    text = models.TextField(
        "内容",
        help_text="可用占位符：{ticket_number} {invoice_number} {nickname} {agent_name} {queue}",
    )
    # Empty: offered in every queue.
    queue = models.ForeignKey(
        Queue,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="canned_responses",
        verbose_name="队列",
    )

    class Meta:
        verbose_name = "快捷回复"
        verbose_name_plural = "快捷回复"
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title
