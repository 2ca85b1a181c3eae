"""Invoice records: the operator's ledger, every verification, and watches."""

from django.db import models
from django.db.models import Q


class Result(models.TextChoices):
    """Normalised verification result (domain.md's vocabulary); every backend maps to it."""

    VALID = "valid", "一致"
    MISMATCH = "mismatch", "不一致"
    NOT_FOUND = "not_found", "查无此票"
    VOIDED = "voided", "作废"
    RED_FLUSHED = "red_flushed", "红冲"
    TOO_MANY_CHECKS = "too_many_checks", "超过次数"
    ISSUED_TODAY = "issued_today", "当天票"
    TOO_OLD = "too_old", "超五年"
    BAD_INPUT = "bad_input", "格式不正确"
    UPSTREAM_ERROR = "upstream_error", "查验异常"


class LedgerInvoice(models.Model):
    """An invoice issued through the operator's platform, and when it reached the tax system."""

    class Status(models.TextChoices):
        VALID = "valid", "正常"
        VOIDED = "voided", "已作废"
        RED_FLUSHED = "red_flushed", "已红冲"
        PARTLY_RED_FLUSHED = "partly_red_flushed", "部分红冲"

    # Empty for 数电 invoices, which have no code; the unique key is (code, number).
    invoice_code = models.CharField("发票代码", max_length=12, blank=True, default="")
    invoice_number = models.CharField("发票号码", max_length=20)
    issue_date = models.DateField("开票日期")
    amount = models.DecimalField("金额（不含税）", max_digits=14, decimal_places=2)
    total = models.DecimalField("价税合计", max_digits=14, decimal_places=2)
    check_code = models.CharField("校验码", max_length=20, blank=True)
    seller_name = models.CharField("销售方名称", max_length=200, blank=True)
    seller_tax_id = models.CharField("销售方税号", max_length=20, blank=True)
    buyer_name = models.CharField("购买方名称", max_length=200, blank=True)
    status = models.CharField("状态", max_length=20, choices=Status.choices, default=Status.VALID)
    # Empty: issued but not yet in the tax system (offline issuing, failed upload).
    uploaded_at = models.DateTimeField("上传税务系统时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "开票台账"
        verbose_name_plural = "开票台账"
        ordering = ["-issue_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice_code", "invoice_number"], name="invoices_ledger_unique_invoice"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["valid", "voided", "red_flushed", "partly_red_flushed"]),
                name="invoices_ledger_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["invoice_number"], name="invoices_ledger_number_idx")]

    def __str__(self) -> str:
        return f"{self.invoice_code or '数电'} {self.invoice_number}"


class InvoiceFieldsMixin(models.Model):
    """The fields a person gave for one invoice."""

    invoice_code = models.CharField("发票代码", max_length=12, blank=True, default="")
    invoice_number = models.CharField("发票号码", max_length=20, blank=True, default="")
    issue_date = models.DateField("开票日期", null=True, blank=True)
    amount = models.DecimalField("金额", max_digits=14, decimal_places=2, null=True, blank=True)
    amount_kind = models.CharField("金额类型", max_length=16, blank=True)
    check_code = models.CharField("校验码后6位", max_length=20, blank=True)
    kind = models.CharField("票种", max_length=24, blank=True)
    region = models.CharField("地区", max_length=16, blank=True)

    class Meta:
        abstract = True


class VerificationRecord(InvoiceFieldsMixin):
    """One check of one invoice: what was asked, who answered, what it means."""

    class Source(models.TextChoices):
        DIALOG = "dialog", "对话"
        API = "api", "接口"
        WATCH = "watch", "跟踪复查"

    PENDING = "pending"

    follower = models.ForeignKey(
        "conversations.Follower",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invoice_checks",
        verbose_name="粉丝",
    )
    source = models.CharField("来源", max_length=8, choices=Source.choices, default=Source.DIALOG)
    # Which backend gave the result; "rules" when a rule answered before any call.
    backend = models.CharField("查验渠道", max_length=32, blank=True)
    # "pending" while a queued check has not run yet, else a Result value.
    result = models.CharField(
        "查验结果",
        max_length=20,
        choices=[(PENDING, "查询中"), *Result.choices],
        default=PENDING,
    )
    diagnosis = models.CharField("诊断", max_length=32, blank=True)
    # The seller: the tax id given with the fields, else the ledger's seller tax id (or
    # name) when the ledger has the invoice; blank when unknown. Incident detection groups by it.
    issuer = models.CharField("开票方", max_length=32, blank=True)
    details = models.JSONField("返回信息", default=dict, blank=True)
    latency_ms = models.PositiveIntegerField("耗时（毫秒）", null=True, blank=True)
    error = models.CharField("错误", max_length=255, blank=True)
    created_at = models.DateTimeField("查验时间", auto_now_add=True)

    class Meta:
        verbose_name = "查验记录"
        verbose_name_plural = "查验记录"
        ordering = ["-created_at", "-id"]
        indexes = [
            # Incident detection: a burst of one result in one region, or of one issuer.
            models.Index(
                fields=["region", "result", "created_at"], name="invoices_check_incident_idx"
            ),
            models.Index(
                fields=["issuer", "result", "created_at"], name="invoices_check_issuer_idx"
            ),
            models.Index(
                fields=["invoice_code", "invoice_number", "created_at"],
                name="invoices_check_invoice_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_code or '数电'} {self.invoice_number} → {self.result}"


class DailyCheckCount(models.Model):
    """How many checks reached a verification backend for one invoice on one day."""

    invoice_code = models.CharField(max_length=12, blank=True, default="")
    invoice_number = models.CharField(max_length=20)
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "每日查验次数"
        verbose_name_plural = "每日查验次数"
        constraints = [
            models.UniqueConstraint(
                fields=["invoice_code", "invoice_number", "day"], name="invoices_daily_count_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.invoice_code or '数电'} {self.invoice_number} {self.day}: {self.count}"


class InvoiceWatch(InvoiceFieldsMixin):
    """A not-yet-found invoice re-checked until it appears or the window ends."""

    class Status(models.TextChoices):
        ACTIVE = "active", "跟踪中"
        FOUND = "found", "已查到"
        EXPIRED = "expired", "已到期"
        CANCELLED = "cancelled", "已取消"

    follower = models.ForeignKey(
        "conversations.Follower",
        on_delete=models.CASCADE,
        related_name="invoice_watches",
        verbose_name="粉丝",
    )
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.ACTIVE)
    next_check_at = models.DateTimeField("下次复查时间")
    attempts = models.PositiveIntegerField("已复查次数", default=0)
    expires_at = models.DateTimeField("截止时间")
    last_result = models.CharField("最近结果", max_length=20, blank=True)
    last_record = models.ForeignKey(
        VerificationRecord,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="最近查验",
    )
    ended_at = models.DateTimeField("结束时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "发票跟踪"
        verbose_name_plural = "发票跟踪"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["follower", "invoice_code", "invoice_number"],
                condition=Q(status="active"),
                name="invoices_watch_one_active",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "found", "expired", "cancelled"]),
                name="invoices_watch_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_check_at"], name="invoices_watch_due_idx")]

    def __str__(self) -> str:
        return f"{self.invoice_code or '数电'} {self.invoice_number} ({self.get_status_display()})"
