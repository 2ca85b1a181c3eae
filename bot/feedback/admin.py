"""The 意见建议 inbox and the answer ratings in admin (supervisors)."""

from django.contrib import admin, messages

from bot.feedback import selectors, services
from bot.feedback.errors import FeedbackError
from bot.feedback.models import AnswerRating, Suggestion
from support.roles import user_is_supervisor


class SupervisorOnly:
    """Supervisors read these; nobody adds or deletes them by hand."""

    def has_module_permission(self, request) -> bool:
        return user_is_supervisor(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return user_is_supervisor(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _status_action(status: str, label: str):
    def action(modeladmin, request, queryset):
        done = 0
        for suggestion in queryset:
            services.suggestion_status_set(suggestion=suggestion, status=status, user=request.user)
            done += 1
        modeladmin.message_user(request, f"{done} 条意见建议已标记为“{label}”")

    action.__name__ = f"mark_{status}"
    action.short_description = f"标记为{label}"
    return action


@admin.register(Suggestion)
class SuggestionAdmin(SupervisorOnly, admin.ModelAdmin):
    list_display = ["created_at", "follower", "short_text", "status", "handled_by", "handled_at"]
    list_filter = ["status"]
    search_fields = ["text", "follower__openid", "follower__nickname"]
    list_select_related = ["follower", "handled_by"]
    readonly_fields = ["follower", "message", "text", "handled_by", "handled_at", "created_at"]
    fields = [
        "follower",
        "text",
        "status",
        "note",
        "handled_by",
        "handled_at",
        "created_at",
        "message",
    ]
    actions = [
        _status_action(Suggestion.Status.READ, Suggestion.Status.READ.label),
        _status_action(Suggestion.Status.DONE, Suggestion.Status.DONE.label),
    ]

    def has_change_permission(self, request, obj=None) -> bool:
        return user_is_supervisor(request.user)

    @admin.display(description="内容")
    def short_text(self, obj: Suggestion) -> str:
        return obj.text if len(obj.text) <= 60 else obj.text[:60] + "…"

    def save_model(self, request, obj, form, change):
        # The one write path: status, who and when through the service.
        try:
            services.suggestion_status_set(
                suggestion=obj, status=obj.status, note=obj.note, user=request.user
            )
        except FeedbackError as error:
            messages.error(request, error.message)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "counts": selectors.suggestion_counts()}
        return super().changelist_view(request, extra_context=extra_context)


@admin.register(AnswerRating)
class AnswerRatingAdmin(SupervisorOnly, admin.ModelAdmin):
    list_display = ["created_at", "entry_key", "useful", "prompted", "follower", "question_text"]
    list_filter = ["useful", "prompted", "entry_key"]
    search_fields = ["entry_key", "follower__openid", "question__text"]
    list_select_related = ["follower", "question"]
    readonly_fields = [
        "follower",
        "question",
        "answer",
        "rating_message",
        "entry_key",
        "useful",
        "prompted",
        "created_at",
        "updated_at",
    ]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="提问")
    def question_text(self, obj: AnswerRating) -> str:
        return obj.question.display_text[:60]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "by_entry": selectors.rating_counts_by_entry()[:50],
        }
        return super().changelist_view(request, extra_context=extra_context)
