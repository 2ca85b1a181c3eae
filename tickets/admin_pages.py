"""The ticket page of the agent admin: conversation, invoice card, reply box, actions."""

import time
from datetime import datetime

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Q
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from tickets import labels, selectors, services
from tickets.models import Priority, Queue, Ticket, TicketMessage
from tickets.notify import get_backend
from tickets.services.invoices import reverify_available
from tickets.services.workflow import ALLOWED_TRANSITIONS


class TicketPage:
    def __init__(self, model_admin):
        self.model_admin = model_admin

    def _ticket(self, request, pk) -> Ticket:
        if not selectors.is_agent(request.user):
            raise Http404
        return get_object_or_404(self.model_admin.get_queryset(request), pk=pk)

    def _back(self, ticket: Ticket, anchor: str = ""):
        url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
        # Back where the agent was (the reply box), not at the top of the page.
        return HttpResponseRedirect(f"{url}#{anchor}" if anchor else url)

    def show(self, request, object_id):
        if not str(object_id).isdigit():
            raise Http404
        ticket = self._ticket(request, int(object_id))
        conversation = selectors.ticket_conversation(ticket=ticket)
        entries = _entries(request, conversation)
        window = get_backend().reply_window(ticket=ticket)
        queues = dict(Queue.objects.values_list("slug", "name"))
        agents = (
            get_user_model()
            .objects.filter(
                Q(agent_profile__queues=ticket.queue_id) | Q(agent_profile__is_supervisor=True),
                is_active=True,
            )
            .distinct()
            .order_by("username")
        )
        context = {
            **self.model_admin.admin_site.each_context(request),
            "opts": Ticket._meta,
            "title": f"工单 {ticket.number}",
            "ticket": ticket,
            "entries": entries,
            "events": [
                {
                    "event": e,
                    "from_label": labels.value_label(e.from_value, queues=queues),
                    "to_label": labels.value_label(e.to_value, queues=queues),
                    "note": labels.reason_label(e.note)
                    if e.note in labels.REASON_LABELS
                    else e.note,
                }
                for e in ticket.events.select_related("actor").order_by("at", "id")
            ],
            "canned": selectors.canned_for(ticket=ticket, agent=request.user),
            "next_statuses": [
                (s, Ticket.Status(s).label)
                for s in Ticket.Status.values
                if s in ALLOWED_TRANSITIONS[ticket.status]
            ],
            "reply_statuses": [
                (s, Ticket.Status(s).label)
                for s in (Ticket.Status.PENDING, Ticket.Status.RESOLVED)
                if s in ALLOWED_TRANSITIONS[ticket.status]
            ],
            "priorities": Priority.choices,
            "agents": agents,
            "reverify": reverify_available() and bool(ticket.invoices),
            "Author": TicketMessage.AuthorKind,
            "window": _window_context(window),
            "category_label": labels.category_label(ticket.category),
            "reason_label": labels.reason_label(ticket.escalation_reason),
            "last_message_id": conversation[-1].pk if conversation else 0,
            "mine": ticket.assignee_id == request.user.pk,
        }
        return TemplateResponse(request, "admin/tickets/ticket/page.html", context)

    def _post(self, request, pk, action, done: str, anchor: str = ""):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ticket = self._ticket(request, pk)
        try:
            result = action(ticket)
        except services.TicketError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, result if isinstance(result, str) else done)
        return self._back(ticket, anchor)

    def live(self, request, pk):
        """New conversation entries after `?after=<id>` and who else works on the ticket."""
        ticket = self._ticket(request, pk)
        after = request.GET.get("after", "0")
        after = int(after) if after.isdigit() else 0
        if request.method == "POST":
            # The agent types or replies: a heartbeat others on the same ticket see.
            _typing_mark(ticket.pk, request.user)
        rows = [m for m in selectors.ticket_conversation(ticket=ticket) if m.pk > after]
        html = render_to_string(
            "admin/tickets/ticket/_entries.html",
            {"entries": _entries(request, rows), "Author": TicketMessage.AuthorKind},
        )
        others = []
        for user_id, name in _agents_here(ticket.pk).items():
            if user_id != request.user.pk:
                others.append(name)
        return JsonResponse(
            {
                "html": html,
                "last_id": rows[-1].pk if rows else after,
                "status": ticket.get_status_display(),
                "others_typing": others,
                "window": _window_context(get_backend().reply_window(ticket=ticket)),
            },
            json_dumps_params={"ensure_ascii": False, "default": str},
        )

    def reply(self, request, pk):
        def act(ticket):
            message = services.ticket_reply_send(
                ticket=ticket,
                author=request.user,
                text=request.POST.get("text", ""),
                status=request.POST.get("status") or None,
            )
            info = (
                get_backend().delivery_status(refs=[message.delivery_ref]).get(message.delivery_ref)
            )
            return f"回复已提交（{info.channel}，{info.status}）" if info else "回复已提交"

        return self._post(request, pk, act, "回复已提交", anchor="tk-reply-form")

    def note(self, request, pk):
        return self._post(
            request,
            pk,
            lambda t: services.ticket_note_add(
                ticket=t, author=request.user, text=request.POST.get("text", "")
            ),
            "备注已添加",
        )

    def update(self, request, pk):
        def act(ticket):
            post = request.POST
            tags = None
            if "tags" in post:
                tags = post["tags"].replace("，", ",").split(",")
            services.ticket_update(
                ticket=ticket,
                actor=request.user,
                status=post.get("status") or None,
                priority=post.get("priority") or None,
                tags=tags,
                assignee_id=post["assignee"] if "assignee" in post else services.UNCHANGED,
            )

        return self._post(request, pk, act, "已保存")

    def assign_me(self, request, pk):
        return self._post(
            request,
            pk,
            lambda t: services.ticket_assign(ticket=t, assignee=request.user, actor=request.user),
            "已分配给您",
        )

    def reverify(self, request, pk):
        return self._post(
            request,
            pk,
            lambda t: services.ticket_invoices_reverify(ticket=t, actor=request.user),
            "已重新查验",
        )


def _entries(request, conversation: list[TicketMessage]) -> list[dict]:
    """Conversation rows with their delivery and kept files (photos), for the page."""
    backend = get_backend()
    refs = [m.delivery_ref for m in conversation if m.delivery_ref]
    delivery = backend.delivery_status(refs=refs) if refs else {}
    files = [m.external_ref for m in conversation if m.external_ref]
    attachments = backend.attachments(refs=files, request=request) if files else {}
    return [
        {
            "message": m,
            "delivery": delivery.get(m.delivery_ref),
            "attachments": attachments.get(m.external_ref or "", []),
        }
        for m in conversation
    ]


def _window_context(window: dict | None) -> dict | None:
    if window is None:
        return None
    closes_at = window.get("closes_at")
    if isinstance(closes_at, str):
        closes_at = datetime.fromisoformat(closes_at)
    return {
        **window,
        "closes_at": timezone.localtime(closes_at).strftime("%m-%d %H:%M") if closes_at else "",
        "last_one": window.get("messages_left") == 1,
    }


TYPING_SECONDS = 15


def _typing_key(ticket_id: int) -> str:
    return f"tickets:typing:{ticket_id}"


def _typing_mark(ticket_id: int, user) -> None:
    """A heartbeat of an agent typing on this ticket (last writer wins: a hint, not a lock)."""
    now = time.time()
    here = {k: v for k, v in (cache.get(_typing_key(ticket_id)) or {}).items() if v[1] > now}
    here[user.pk] = (selectors.agent_display_name(user), now + TYPING_SECONDS)
    cache.set(_typing_key(ticket_id), here, TYPING_SECONDS)


def _agents_here(ticket_id: int) -> dict[int, str]:
    """Agents with a heartbeat on this ticket in the last few seconds."""
    now = time.time()
    here = cache.get(_typing_key(ticket_id)) or {}
    return {pk: name for pk, (name, until) in here.items() if until > now}
