from django.contrib import admin, messages

from bot.invoices import ledger, watching
from bot.invoices.models import InvoiceWatch, LedgerInvoice, VerificationRecord
from support.roles import SupervisorWritesAdmin


@admin.register(LedgerInvoice)
class LedgerInvoiceAdmin(SupervisorWritesAdmin, admin.ModelAdmin):
    """Agents look invoices up; only supervisors write the ledger (docs/security.md)."""

    list_display = (
        "invoice_code",
        "invoice_number",
        "issue_date",
        "total",
        "seller_name",
        "buyer_name",
        "status",
        "uploaded_at",
    )
    list_filter = ("status", "issue_date")
    search_fields = (
        "=invoice_code",
        "=invoice_number",
        "seller_name",
        "=seller_tax_id",
        "buyer_name",
    )
    date_hierarchy = "issue_date"
    readonly_fields = ("created_at", "updated_at")
    actions = ["mark_uploaded"]

    # A write: offered only to who may change the ledger, not to every viewer.
    @admin.action(description="标记为已上传税务系统（现在）", permissions=["change"])
    def mark_uploaded(self, request, queryset):
        count = ledger.ledger_invoices_mark_uploaded(ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"已标记 {count} 张发票为已上传。", messages.SUCCESS)


@admin.register(VerificationRecord)
class VerificationRecordAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "invoice_code",
        "invoice_number",
        "kind",
        "region",
        "issuer",
        "backend",
        "result",
        "diagnosis",
        "latency_ms",
        "follower",
    )
    list_filter = ("result", "diagnosis", "backend", "source", "region")
    search_fields = ("=invoice_code", "=invoice_number", "=follower__openid", "=issuer")
    date_hierarchy = "created_at"
    list_select_related = ("follower",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InvoiceWatch)
class InvoiceWatchAdmin(admin.ModelAdmin):
    list_display = (
        "invoice_code",
        "invoice_number",
        "follower",
        "status",
        "attempts",
        "next_check_at",
        "expires_at",
        "last_result",
    )
    list_filter = ("status",)
    search_fields = ("=invoice_code", "=invoice_number", "=follower__openid")
    list_select_related = ("follower",)
    raw_id_fields = ("follower", "last_record")
    readonly_fields = ("attempts", "last_result", "last_record", "ended_at", "created_at")
    actions = ["recheck_now", "cancel"]

    @admin.action(description="立即复查")
    def recheck_now(self, request, queryset):
        for watch_id in queryset.values_list("pk", flat=True):
            watching.invoice_watch_recheck(watch_id=watch_id, force=True)
        self.message_user(request, "已复查所选的跟踪。", messages.SUCCESS)

    @admin.action(description="取消跟踪")
    def cancel(self, request, queryset):
        cancelled = sum(
            watching.invoice_watch_cancel(watch_id=watch_id)
            for watch_id in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"已取消 {cancelled} 个跟踪。", messages.SUCCESS)
