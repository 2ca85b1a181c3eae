"""Knowledge-base admin and the 试一试 console: supervisors only (docs/security.md)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from bot.nlu.context import context_clear
from bot.nlu.models import DomainWord, FaqEntry, Intent, Keyword, ReplyTemplate, SynonymGroup
from bot.nlu.services import (
    kb_object_delete,
    kb_object_save,
    kb_objects_delete,
    kb_version_bump,
    nlu_reply,
)
from support.roles import SupervisorOnlyAdmin


class KbModelAdmin(SupervisorOnlyAdmin, admin.ModelAdmin):
    """Admin whose every write goes through a KB service, so all processes reload the KB."""

    def save_model(self, request, obj, form, change):
        kb_object_save(obj=obj)

    def delete_model(self, request, obj):
        kb_object_delete(obj=obj)

    def delete_queryset(self, request, queryset):
        kb_objects_delete(queryset=queryset)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if any(formset.has_changed() for formset in formsets):
            kb_version_bump()


class KeywordInline(SupervisorOnlyAdmin, admin.TabularInline):
    model = Keyword
    extra = 1
    fields = ("word", "weight", "kind")


@admin.register(Intent)
class IntentAdmin(KbModelAdmin):
    list_display = ("id", "name", "description")
    search_fields = ("id", "name", "description")
    inlines = [KeywordInline]


@admin.register(FaqEntry)
class FaqEntryAdmin(KbModelAdmin):
    list_display = ("question", "intent", "priority", "active", "updated_at")
    list_filter = ("intent", "active")
    list_editable = ("priority", "active")
    search_fields = ("key", "question", "paraphrases", "answer")
    inlines = [KeywordInline]
    change_list_template = "admin/nlu/faqentry/change_list.html"

    def get_urls(self):
        console = path(
            "console/",
            self.admin_site.admin_view(self.console_view),
            name="nlu_faqentry_console",
        )
        return [console, *super().get_urls()]

    def console_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ConsoleForm(request.POST or None)
        result = None
        conversation_key = f"admin-console:{request.user.pk}"
        if request.method == "POST" and form.is_valid():
            if form.cleaned_data["reset_context"]:
                context_clear(conversation_key)
            from bot.nlu.matcher import classify

            text = form.cleaned_data["text"]
            classification = classify(text)
            result = {
                "classification": classification,
                "analysis": classification.analysis,
                "reply": nlu_reply(conversation_key=conversation_key, text=text),
            }
        context = {
            **self.admin_site.each_context(request),
            "title": "试一试",
            "opts": self.model._meta,
            "form": form,
            "result": result,
        }
        return TemplateResponse(request, "admin/nlu/console.html", context)


class ConsoleForm(forms.Form):
    text = forms.CharField(
        label="用户消息", max_length=10000, widget=forms.Textarea(attrs={"rows": 3})
    )
    reset_context = forms.BooleanField(label="清除上下文后再试", required=False)


@admin.register(Keyword)
class KeywordAdmin(KbModelAdmin):
    list_display = ("word", "weight", "kind", "intent", "entry")
    list_filter = ("kind", "intent")
    list_editable = ("weight", "kind")
    search_fields = ("word",)
    autocomplete_fields = ("entry",)


@admin.register(SynonymGroup)
class SynonymGroupAdmin(KbModelAdmin):
    list_display = ("canonical", "variants")
    search_fields = ("canonical", "variants")


@admin.register(DomainWord)
class DomainWordAdmin(KbModelAdmin):
    list_display = ("word", "freq")
    search_fields = ("word",)


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(KbModelAdmin):
    list_display = ("key", "text")
