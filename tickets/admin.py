"""Agent admin (简体中文): the ticket queue, the ticket page, and the help-desk setup."""

import re
from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html

from tickets import admin_pages, selectors, services
from tickets.models import (
    AgentProfile,
    CannedResponse,
    Holiday,
    Priority,
    Queue,
    SlaTarget,
    Ticket,
    TicketEvent,
    sla_breached_q,
)
from tickets.pagination import CappedCountPaginator

NUMBER_RE = re.compile(r"^[TtDd]\d{8}-\d+$")


class SlaFilter(admin.SimpleListFilter):
    title = "SLA"
    parameter_name = "sla"

    def lookups(self, request, model_admin):
        return [("breached", "已超时"), ("due_1h", "1 小时内到期"), ("due_today", "今日到期")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "breached":
            return queryset.filter(sla_breached_q())
        horizon = {"due_1h": now + timedelta(hours=1)}.get(self.value())
        if self.value() == "due_today":
            horizon = timezone.localtime(now).replace(hour=23, minute=59, second=59)
        if horizon is None:
            return queryset
        active = queryset.filter(status__in=Ticket.ACTIVE_STATUSES)
        return active.filter(
            Q(first_response_at__isnull=True, first_response_due__lte=horizon)
            | Q(sla_paused_at__isnull=True, resolution_due__lte=horizon)
        )


class AssigneeFilter(admin.SimpleListFilter):
    """Agents by name, without scanning the tickets for who is assigned (a million rows)."""

    title = "处理人"
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        users = get_user_model().objects.filter(agent_profile__isnull=False).order_by("username")
        return [("none", "未分配"), *((str(u.pk), str(u)) for u in users)]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(assignee__isnull=True)
        if self.value() and self.value().isdigit():
            return queryset.filter(assignee_id=int(self.value()))
        return queryset


class AgentOnlyAdmin(admin.ModelAdmin):
    """Agents (staff with a profile) work tickets without Django model permissions."""

    def has_module_permission(self, request) -> bool:
        return selectors.is_agent(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return selectors.is_agent(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return selectors.is_agent(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


@admin.register(Ticket)
class TicketAdmin(AgentOnlyAdmin):
    list_display = [
        "number",
        "short_subject",
        "requester",
        "queue_name",
        "status_label",
        "priority",
        "assignee",
        "sla",
        "waiting_reply",
        "updated_at",
    ]
    list_filter = ["status", "queue", AssigneeFilter, "priority", SlaFilter]
    # Searched by get_search_results: number, openid and invoice number exactly (indexed),
    # anything else as part of the nickname.
    search_fields = ["requester_name"]
    search_help_text = "工单号、OpenID、发票号码或昵称"
    paginator = CappedCountPaginator
    list_select_related = ["queue", "assignee"]
    list_per_page = 50
    # COUNT(*) over a million rows is the slowest part of a changelist.
    show_full_result_count = False
    actions = ["assign_to_me", "mark_resolved", "mark_closed", "raise_priority", "merge_duplicates"]
    ordering = ["-created_at", "-id"]
    # Only indexed columns sort (bench/tickets at 1M tickets): each (column, -id).
    sortable_by = ["number", "queue_name", "status_label", "priority", "assignee", "updated_at"]

    def get_queryset(self, request):
        return selectors.tickets_visible_to(user=request.user).select_related("queue", "assignee")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if NUMBER_RE.match(term):
            return queryset.filter(number=term.upper()), False
        if term.isdigit() and 8 <= len(term) <= 30:
            return queryset.filter(invoice_refs__number=term), False
        exact = queryset.filter(requester_ref=term)
        if exact.exists():
            return exact, False
        return queryset.filter(requester_name__icontains=term), False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        page = admin_pages.TicketPage(self)
        return [
            path("<int:pk>/reply/", wrap(page.reply), name="tickets_ticket_reply"),
            path("<int:pk>/live/", wrap(page.live), name="tickets_ticket_live"),
            path("<int:pk>/note/", wrap(page.note), name="tickets_ticket_note"),
            path("<int:pk>/update/", wrap(page.update), name="tickets_ticket_update"),
            path("<int:pk>/assign-me/", wrap(page.assign_me), name="tickets_ticket_assign_me"),
            path("<int:pk>/reverify/", wrap(page.reverify), name="tickets_ticket_reverify"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return admin_pages.TicketPage(self).show(request, object_id)

    @admin.display(description="主题")
    def short_subject(self, obj: Ticket) -> str:
        return obj.subject[:30]

    @admin.display(description="用户")
    def requester(self, obj: Ticket) -> str:
        return obj.requester_name or obj.requester_ref

    # Sorted by the queue's id, not its name: an index serves that, a join sort does not.
    @admin.display(description="队列", ordering="queue_id")
    def queue_name(self, obj: Ticket) -> str:
        return obj.queue.name

    @admin.display(description="状态", ordering="status")
    def status_label(self, obj: Ticket) -> str:
        return obj.get_status_display()

    @admin.display(description="SLA")
    def sla(self, obj: Ticket) -> str:
        if obj.sla_breached:
            return format_html('<span style="color:#ba2121;font-weight:bold">{}</span>', "已超时")
        if not obj.is_active:
            return "—"
        due = obj.resolution_due if obj.first_response_at else obj.first_response_due
        if obj.first_response_at and obj.sla_paused_at:
            return "暂停"
        if due is None:
            return "—"
        return timezone.localtime(due).strftime("%m-%d %H:%M 到期")

    @admin.display(description="待回复", boolean=True)
    def waiting_reply(self, obj: Ticket) -> bool:
        if not obj.is_active or obj.last_requester_message_at is None:
            return False
        return obj.last_agent_message_at is None or (
            obj.last_requester_message_at > obj.last_agent_message_at
        )

    def _each(self, request, queryset, action, done: str) -> None:
        ok = 0
        for ticket in queryset:
            try:
                action(ticket)
                ok += 1
            except services.TicketError as error:
                self.message_user(request, f"{ticket.number}：{error.message}", messages.WARNING)
        if ok:
            self.message_user(request, f"{done} {ok} 个工单", messages.SUCCESS)

    @admin.action(description="分配给我")
    def assign_to_me(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda t: services.ticket_assign(ticket=t, assignee=request.user, actor=request.user),
            "已分配给您",
        )

    @admin.action(description="标记为已解决")
    def mark_resolved(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda t: services.ticket_status_change(
                ticket=t, status="resolved", actor=request.user
            ),
            "已解决",
        )

    @admin.action(description="关闭")
    def mark_closed(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda t: services.ticket_status_change(ticket=t, status="closed", actor=request.user),
            "已关闭",
        )

    @admin.action(description="优先级设为“高”")
    def raise_priority(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda t: services.ticket_priority_set(
                ticket=t, priority=Priority.HIGH, actor=request.user
            ),
            "已调整",
        )

    @admin.action(description="合并重复工单（并入最早的一个）")
    def merge_duplicates(self, request, queryset):
        tickets = list(queryset.order_by("created_at", "id"))
        if len(tickets) < 2:
            self.message_user(request, "请至少选择两个工单", messages.WARNING)
            return
        target = tickets[0]
        self._each(
            request,
            tickets[1:],
            lambda t: services.ticket_merge(source=t, target=target, actor=request.user),
            f"已合并到 {target.number}：",
        )


class SlaTargetInline(admin.TabularInline):
    model = SlaTarget
    extra = 0


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "categories", "is_default"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [SlaTargetInline]


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "on_duty", "capacity", "is_supervisor", "last_assigned_at"]
    list_filter = ["on_duty", "is_supervisor", "queues"]
    list_editable = ["on_duty", "capacity"]
    filter_horizontal = ["queues"]
    raw_id_fields = ["user"]
    readonly_fields = ["last_assigned_at"]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "is_workday"]
    list_filter = ["is_workday"]
    date_hierarchy = "date"


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ["title", "queue"]
    list_filter = ["queue"]
    search_fields = ["title", "text"]


@admin.register(TicketEvent)
class TicketEventAdmin(AgentOnlyAdmin):
    list_display = ["ticket", "action", "from_value", "to_value", "actor", "at"]
    list_filter = ["action"]
    search_fields = ["=ticket__number"]
    list_select_related = ["ticket", "actor"]
    show_full_result_count = False

    def get_queryset(self, request):
        visible = selectors.tickets_visible_to(user=request.user)
        return super().get_queryset(request).filter(ticket__in=visible)

    def has_change_permission(self, request, obj=None) -> bool:
        return False
