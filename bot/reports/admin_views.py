"""The 数据看板 pages for supervisors: dashboard, drill-down, one conversation, CSV,
unanswered-question mining with its one-click knowledge-base actions.

Thin: the figures come from `selectors`/`mining`, the KB changes from `services`.
"""

from __future__ import annotations

import csv
import functools
from datetime import date

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from bot.nlu.models import FaqEntry
from bot.nlu.models import Intent as IntentRow
from bot.reports import mining, selectors, services
from bot.reports.errors import ReportError
from bot.reports.outcomes import TurnClassifier
from support.roles import user_is_supervisor
from tickets.models import Queue

OUTCOME_LABELS = {
    "answer": "知识库回答",
    "clarify": "反问确认",
    "oos": "超出范围",
    "fallback": "兜底回复",
    "rating": "评价回执",
    "other": "其他",
    "": "—",
}
FIGURE_LABELS = {
    "conversations": "会话",
    "bot_answered": "机器人解答的会话",
    "escalated": "转人工的会话",
    "contained": "闭环解决的会话",
    "unanswered": "未解答的会话",
    "rated_useless": "被评“没用”的会话",
    "not_escalated": "未转人工的会话",
    "tickets": "新建工单",
    "first_response": "已首次响应的工单",
    "resolved": "已解决的工单",
    "sla_missed": "首响超时的工单",
    "sla_met": "首响达标的工单",
    "rated": "已评价的工单",
    "backlog": "积压工单",
    "result": "查验结果",
    "cause": "诊断原因",
    "region": "地区",
    "issuer": "开票方",
    "intent": "意图的消息",
    "hour": "时段的消息",
}


def supervisor_view(view):
    """Staff login through admin; then supervisors only (agents get 403)."""

    @functools.wraps(view)
    def inner(request, *args, **kwargs):
        if not user_is_supervisor(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return admin.site.admin_view(inner)


def _range(request) -> selectors.ReportRange:
    params = request.GET
    try:
        return selectors.report_range(
            start=params.get("start", ""), end=params.get("end", ""), queue=params.get("queue", "")
        )
    except ReportError as error:
        messages.error(request, error.message)
        return selectors.report_range()


def _query(rng: selectors.ReportRange, **extra) -> str:
    values = {"start": rng.start_day.isoformat(), "end": rng.end_day.isoformat()}
    if rng.queue is not None:
        values["queue"] = rng.queue.slug
    values.update({k: v for k, v in extra.items() if v not in (None, "")})
    return urlencode(values)


def _context(request, title: str, **extra) -> dict:
    # The charts take the page's width: no model sidebar beside them.
    context = {**admin.site.each_context(request), "is_nav_sidebar_enabled": False}
    return {**context, "title": title, **extra}


@supervisor_view
def dashboard(request):
    rng = _range(request)
    data = selectors.dashboard_data(rng)
    drill = reverse("reports_admin:drill")
    links = {
        name: f"{drill}?{_query(rng, kind='conversations', figure=name)}"
        for name in selectors.CONVERSATION_FIGURES
    }
    links.update(
        {
            name: f"{drill}?{_query(rng, kind='tickets', figure=name)}"
            for name in selectors.TICKET_FIGURES
        }
    )
    links["messages"] = f"{drill}?{_query(rng, kind='messages')}"
    links["checks"] = f"{drill}?{_query(rng, kind='checks', figure='result')}"
    data["links"] = {
        "drill": drill,
        "query": _query(rng),
        "conversation_figures": sorted(selectors.CONVERSATION_FIGURES),
    }
    context = _context(
        request,
        "数据看板",
        data=data,
        summary=data["summary"],
        rng=rng,
        queues=Queue.objects.order_by("name"),
        links=links,
        export=f"{reverse('reports_admin:export')}?{_query(rng)}",
        unanswered=f"{reverse('reports_admin:unanswered')}?{_query(rng)}",
    )
    return TemplateResponse(request, "admin/reports/dashboard.html", context)


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _drill_rows(request, rng) -> tuple[str, list[str], list[list], list[str]]:
    """(kind, headings, rows of cells, links per row) of a drill-down."""
    params = request.GET
    kind, figure, value = params.get("kind", ""), params.get("figure", ""), params.get("value", "")
    if kind == "conversations":
        found = selectors.drill_conversations(rng, figure=figure, day=_day(params.get("day", "")))
        heads = ["开始", "粉丝", "消息数", "意图", "最后一轮", "转人工", "闭环", "未解答"]
        rows, links = [], []
        for c in found:
            rows.append(
                [
                    timezone.localtime(c["started_at"]).strftime("%Y-%m-%d %H:%M"),
                    c["nickname"] or c["openid"],
                    c["messages_in"],
                    c["main_intent"],
                    OUTCOME_LABELS.get(c["last_outcome"], c["last_outcome"]),
                    "是" if c["escalated"] else "",
                    "是" if c["contained"] else "",
                    "是" if c["unanswered"] else "",
                ]
            )
            links.append(
                reverse(
                    "reports_admin:conversation",
                    args=[c["follower_id"], c["first_message_id"], c["last_message_id"]],
                )
            )
        return kind, heads, rows, links
    if kind == "tickets":
        found = selectors.drill_tickets(rng, figure=figure, value=value)
        heads = ["工单号", "创建", "队列", "状态", "处理人", "主题", "满意度"]
        rows = [
            [
                t.number,
                timezone.localtime(t.created_at).strftime("%Y-%m-%d %H:%M"),
                t.queue.name,
                t.get_status_display(),
                t.assignee.get_username() if t.assignee else "",
                t.subject,
                t.satisfaction or "",
            ]
            for t in found
        ]
        links = [reverse("admin:tickets_ticket_change", args=[t.pk]) for t in found]
        return kind, heads, rows, links
    if kind == "checks":
        found = selectors.drill_checks(rng, figure=figure, value=value)
        heads = ["时间", "发票代码", "发票号码", "结果", "诊断", "地区", "开票方"]
        rows = [
            [
                timezone.localtime(r.created_at).strftime("%Y-%m-%d %H:%M"),
                r.invoice_code,
                r.invoice_number,
                r.get_result_display(),
                r.diagnosis,
                r.region,
                r.issuer,
            ]
            for r in found
        ]
        links = [reverse("admin:invoices_verificationrecord_change", args=[r.pk]) for r in found]
        return kind, heads, rows, links
    if kind == "messages":
        hour = params.get("hour", "")
        found = selectors.drill_messages(
            rng, intent=params.get("intent", ""), hour=int(hour) if hour.isdigit() else None
        )
        heads = ["时间", "粉丝", "内容", "意图"]
        rows = [
            [
                timezone.localtime(m.created_at).strftime("%Y-%m-%d %H:%M"),
                m.follower.nickname or m.follower.openid,
                m.display_text[:80],
                m.intent,
            ]
            for m in found
        ]
        links = [
            reverse("admin:conversations_follower_change", args=[m.follower_id]) for m in found
        ]
        return kind, heads, rows, links
    raise ReportError(selectors.ReportErrorCode.UNKNOWN_FIGURE, "没有这项指标")


@supervisor_view
def drill(request):
    rng = _range(request)
    params = request.GET
    try:
        kind, heads, rows, links = _drill_rows(request, rng)
    except ReportError as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(f"{reverse('reports_admin:dashboard')}?{_query(rng)}")
    figure = params.get("figure", "")
    detail = params.get("value", "")
    if kind == "messages":
        figure = "hour" if params.get("hour") else "intent"
        detail = f"{params['hour']}时" if params.get("hour") else params.get("intent", "")
    title = FIGURE_LABELS.get(figure, "收到消息")
    if detail:
        title = f"{title}：{detail}"
    if params.get("format") == "csv":
        return _csv(f"reports-{kind}-{figure}", heads, rows)
    context = _context(
        request,
        f"{title}（{rng.start_day} 至 {rng.end_day}）",
        heads=heads,
        rows=list(zip(rows, links, strict=True)),
        rng=rng,
        back=f"{reverse('reports_admin:dashboard')}?{_query(rng)}",
        csv_url=f"{request.path}?{request.GET.urlencode()}&format=csv",
    )
    return TemplateResponse(request, "admin/reports/drill.html", context)


def _csv(name: str, heads: list[str], rows: list[list]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response.write("\ufeff")  # Excel reads UTF-8 with a BOM
    writer = csv.writer(response)
    writer.writerow(heads)
    writer.writerows(rows)
    return response


@supervisor_view
def export_csv(request):
    """The range's figures per day, one row each."""
    rng = _range(request)
    data = selectors.dashboard_data(rng)
    series, tickets, csat = data["by_day"], data["tickets"], data["satisfaction"]
    heads = [
        "日期", "收到消息", "会话", "机器人解答", "转人工", "闭环解决", "未解答", "未解答占比",
        "新建工单", "满意度均分", "评价数",
    ]  # fmt: skip
    rows = [
        [
            day,
            series["messages_in"][n],
            series["conversations"][n],
            series["bot_answered"][n],
            series["escalated"][n],
            series["contained"][n],
            series["unanswered"][n],
            "" if series["unanswered_share"][n] is None else series["unanswered_share"][n],
            tickets["by_day"][n],
            "" if csat["by_day"][n] is None else csat["by_day"][n],
            csat["responses_by_day"][n],
        ]
        for n, day in enumerate(series["days"])
    ]
    return _csv(f"reports-{rng.start_day}-{rng.end_day}", heads, rows)


@supervisor_view
def conversation(request, follower_id: int, first_id: int, last_id: int):
    found = list(
        selectors.conversation_messages(follower_id=follower_id, first_id=first_id, last_id=last_id)
        .select_related("follower")
        .order_by("id")
    )
    classifier = TurnClassifier.from_live_kb()
    entries = []
    for m in found:
        outcome = ""
        if m.direction == "out" and m.reply_to_id:
            outcome = OUTCOME_LABELS[classifier.classify(m.text)[0]]
        entries.append({"message": m, "outcome": outcome})
    follower = found[0].follower if found else None
    context = _context(
        request,
        f"会话 · {follower.nickname or follower.openid}" if follower else "会话",
        entries=entries,
        follower=follower,
    )
    return TemplateResponse(request, "admin/reports/conversation.html", context)


@supervisor_view
def unanswered(request):
    rng = _range(request)
    found = mining.unanswered_clusters(rng)
    context = _context(
        request,
        f"未解答问题（{rng.start_day} 至 {rng.end_day}）",
        clusters=found,
        rng=rng,
        query=_query(rng),
        entries=FaqEntry.objects.filter(active=True).order_by("intent_id", "key"),
        intents=IntentRow.objects.order_by("id"),
        back=f"{reverse('reports_admin:dashboard')}?{_query(rng)}",
    )
    return TemplateResponse(request, "admin/reports/unanswered.html", context)


def _back_to_unanswered(request) -> HttpResponseRedirect:
    return HttpResponseRedirect(
        f"{reverse('reports_admin:unanswered')}?{request.POST.get('query', '')}"
    )


@supervisor_view
def unanswered_paraphrases(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        action = services.cluster_paraphrases_add(
            entry_key=request.POST.get("entry", ""),
            label=request.POST.get("label", ""),
            texts=request.POST.getlist("texts"),
            user=request.user,
        )
    except ReportError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"已将 {len(action.texts)} 个问法加入条目“{action.entry_key}”，立即生效"
        )
    return _back_to_unanswered(request)


@supervisor_view
def unanswered_entry(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    post = request.POST
    try:
        action = services.cluster_entry_create(
            key=post.get("key", ""),
            intent_id=post.get("intent", ""),
            question=post.get("question", ""),
            answer=post.get("answer", ""),
            label=post.get("label", ""),
            texts=post.getlist("texts"),
            user=request.user,
        )
    except ReportError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"已新建条目“{action.entry_key}”，立即生效")
    return _back_to_unanswered(request)
