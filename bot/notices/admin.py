"""Supervisors' admin: notice templates, notices, broadcasts with progress, incidents."""

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

from bot.notices import broadcasts, incidents, selectors
from bot.notices.models import (
    Broadcast,
    Incident,
    IncidentFollower,
    IncidentUpdate,
    Notice,
    NoticeTemplate,
)
from support.roles import SupervisorOnlyAdmin


class NoticeTemplateForm(forms.ModelForm):
    class Meta:
        model = NoticeTemplate
        fields = ["kind", "message_type", "template_id", "field_mapping", "page", "active"]
        widgets = {"message_type": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["message_type"].required = False  # left out: a template message

    def clean_message_type(self):
        return self.cleaned_data.get("message_type") or NoticeTemplate.MessageType.TEMPLATE

    def clean_field_mapping(self):
        mapping = self.cleaned_data["field_mapping"]
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
        ):
            raise forms.ValidationError('字段映射须为 {"字段名": "内容"} 形式的JSON对象')
        return mapping


@admin.register(NoticeTemplate)
class NoticeTemplateAdmin(SupervisorOnlyAdmin, admin.ModelAdmin):
    form = NoticeTemplateForm
    list_display = ["kind", "message_type", "template_id", "active", "updated_at"]
    list_filter = ["message_type", "active"]
    list_editable = ["active"]


@admin.register(Notice)
class NoticeAdmin(SupervisorOnlyAdmin, admin.ModelAdmin):
    list_display = ["id", "kind", "follower", "channel", "status", "error_code", "sent_at"]
    list_filter = ["kind", "status", "channel"]
    search_fields = ["follower__openid", "idempotency_key", "wechat_msg_id"]

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        # A broadcast's progress links to its notices of one status (the unknown ones).
        return lookup == "broadcast__id__exact" or super().lookup_allowed(lookup, value, request)

    list_select_related = ["follower"]
    raw_id_fields = ["follower", "broadcast", "message"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def _progress_html(broadcast: Broadcast) -> str:
    if broadcast.use_mass_send:
        return format_html("微信群发 MsgId：{}", broadcast.mass_msg_id or "—")
    p = selectors.broadcast_progress(broadcast=broadcast)
    unknown = (
        format_html(
            '<a href="{}?broadcast__id__exact={}&amp;status__exact=unknown">{}</a>',
            reverse("admin:notices_notice_changelist"),
            broadcast.pk,
            p.unknown,
        )
        if p.unknown
        else "0"
    )
    return format_html(
        '<div class="notices-progress" style="width:220px;background:#eee;border-radius:3px">'
        '<div style="width:{}%;background:#417690;height:10px;border-radius:3px"></div></div>'
        "<small>共 {} · 已发 {} · 失败 {}（其中结果未知、未重发 {}） · 待发 {} · 已取消 {}"
        " · 送达回执 {}</small>",
        p.percent_done,
        p.total,
        p.sent,
        p.failed,
        unknown,
        p.pending,
        p.cancelled,
        p.delivered,
    )


class BroadcastFields:
    EDITABLE = [
        "title",
        "text",
        "link",
        "audience",
        "tag",
        "intent",
        "region",
        "since",
        "until",
        "incident",
        "use_mass_send",
        "preview_follower",
        "scheduled_at",
    ]


def _https_urls(field, **kwargs):
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class BroadcastForm(forms.ModelForm):
    class Meta:
        model = Broadcast
        fields = BroadcastFields.EDITABLE
        formfield_callback = _https_urls

    def _post_clean(self):
        super()._post_clean()  # the instance now carries the submitted values
        try:
            broadcasts.broadcast_validate(self.instance)
        except broadcasts.NoticesError as exc:
            self.add_error(None, exc.message)


@admin.register(Broadcast)
class BroadcastAdmin(SupervisorOnlyAdmin, admin.ModelAdmin):
    form = BroadcastForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    change_form_template = "admin/notices/broadcast/change_form.html"
    list_display = ["id", "__str__", "kind", "audience", "status", "progress", "created_at"]
    list_filter = ["status", "kind", "audience"]
    search_fields = ["title", "text"]
    raw_id_fields = ["preview_follower", "incident"]
    actions = ["send_now", "cancel"]
    editable = BroadcastFields.EDITABLE
    state = ["kind", "status", "progress", "started_at", "finished_at", "error_message"]

    def get_fields(self, request, obj=None):
        return self.editable + (self.state if obj else [])

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if obj.status in (Broadcast.Status.DRAFT, Broadcast.Status.SCHEDULED):
            return self.state
        return self.editable + self.state

    @admin.display(description="进度")
    def progress(self, obj: Broadcast) -> str:
        return _progress_html(obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def response_change(self, request, obj):
        handlers = {
            "_preview": self._preview,
            "_send_now": lambda r, b: broadcasts.broadcast_start(broadcast_id=b.pk),
            "_schedule": self._schedule,
            "_cancel": lambda r, b: broadcasts.broadcast_cancel(broadcast_id=b.pk),
        }
        for name, handler in handlers.items():
            if name in request.POST:
                try:
                    handler(request, obj)
                    self.message_user(request, "操作已提交", messages.SUCCESS)
                except broadcasts.NoticesError as exc:
                    self.message_user(request, exc.message, messages.ERROR)
                return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def _preview(self, request, broadcast: Broadcast) -> None:
        if broadcast.preview_follower_id is None:
            raise broadcasts.NoticesError(broadcasts.ErrorCode.AUDIENCE_INVALID, "请先选择预览粉丝")
        broadcasts.broadcast_preview(
            broadcast_id=broadcast.pk, follower_id=broadcast.preview_follower_id
        )

    def _schedule(self, request, broadcast: Broadcast) -> None:
        if broadcast.scheduled_at is None:
            raise broadcasts.NoticesError(
                broadcasts.ErrorCode.NOT_STARTABLE, "请先填写定时发送时间"
            )
        broadcasts.broadcast_schedule(broadcast_id=broadcast.pk, at=broadcast.scheduled_at)

    @admin.action(description="立即发送所选群发")
    def send_now(self, request, queryset):
        self._each(request, queryset, broadcasts.broadcast_start)

    @admin.action(description="取消所选群发（未发出的不再发送）")
    def cancel(self, request, queryset):
        self._each(request, queryset, broadcasts.broadcast_cancel)

    def _each(self, request, queryset, service) -> None:
        for broadcast in queryset:
            try:
                service(broadcast_id=broadcast.pk)
            except broadcasts.NoticesError as exc:
                self.message_user(request, f"{broadcast}：{exc.message}", messages.ERROR)


class IncidentUpdateInline(SupervisorOnlyAdmin, admin.TabularInline):
    model = IncidentUpdate
    extra = 0
    can_delete = False
    fields = ["created_at", "status", "body", "author", "delivery"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="推送进度")
    def delivery(self, obj: IncidentUpdate) -> str:
        return _progress_html(obj.broadcast) if obj.broadcast_id else "—"


class IncidentForm(forms.ModelForm):
    new_status = forms.ChoiceField(
        label="发布公告：状态",
        required=False,
        choices=[("", "—")] + [(s.value, s.label) for s in Incident.PUBLIC_STATUSES],
    )
    new_body = forms.CharField(
        label="发布公告：内容（推送给受影响粉丝）", required=False, widget=forms.Textarea
    )

    class Meta:
        model = Incident
        fields = ["title", "region", "issuer", "system"]

    def clean(self):
        cleaned = super().clean()
        paired = bool(cleaned.get("new_status")) == bool(cleaned.get("new_body", "").strip())
        if self.instance.pk and not paired:  # a new incident always opens as investigating
            raise forms.ValidationError("发布公告需要同时填写状态和内容")
        return cleaned


@admin.register(Incident)
class IncidentAdmin(SupervisorOnlyAdmin, admin.ModelAdmin):
    form = IncidentForm
    list_display = ["title", "status", "region", "issuer", "system", "affected_count", "created_at"]
    list_filter = ["status"]
    search_fields = ["title", "region", "issuer"]
    inlines = [IncidentUpdateInline]
    actions = ["confirm", "dismiss"]
    readonly_fields = [
        "status",
        "detection",
        "affected_count",
        "tickets",
        "created_at",
        "confirmed_at",
        "resolved_at",
    ]

    def get_fields(self, request, obj=None):
        fields = ["title", "region", "issuer", "system"]
        if obj is None:
            return [*fields, "new_body"]
        return [*fields, *self.readonly_fields, "new_status", "new_body"]

    @admin.display(description="受影响粉丝")
    def affected_count(self, obj: Incident) -> int:
        return IncidentFollower.objects.filter(incident=obj).count()

    @admin.display(description="关联工单")
    def tickets(self, obj: Incident) -> str:
        numbers = list(
            selectors.incident_tickets(incident=obj).values_list("number", flat=True)[:50]
        )
        return "，".join(numbers) or "—"

    def save_model(self, request, obj, form, change):
        body = form.cleaned_data.get("new_body", "").strip()
        if not change:
            created = incidents.incident_open(
                title=obj.title,
                region=obj.region,
                issuer=obj.issuer,
                system=obj.system,
                body=body or render_to_string("bot/notices/incident_confirm_body.txt").strip(),
                author=request.user,
            )
            obj.pk = created.pk
            obj.refresh_from_db()
            return
        obj.save(update_fields=["title", "region", "issuer", "system"])
        if body:
            try:
                incidents.incident_update_post(
                    incident_id=obj.pk,
                    status=form.cleaned_data["new_status"],
                    body=body,
                    author=request.user,
                )
            except broadcasts.NoticesError as exc:
                self.message_user(request, exc.message, messages.ERROR)

    @admin.action(description="确认所选待确认事件并通知受影响粉丝")
    def confirm(self, request, queryset):
        body = render_to_string("bot/notices/incident_confirm_body.txt").strip()
        for incident in queryset.filter(status=Incident.Status.PROPOSED):
            incidents.incident_confirm(incident_id=incident.pk, body=body, author=request.user)

    @admin.action(description="驳回所选待确认事件（误报）")
    def dismiss(self, request, queryset):
        for incident in queryset.filter(status=Incident.Status.PROPOSED):
            incidents.incident_dismiss(incident_id=incident.pk, author=request.user)
