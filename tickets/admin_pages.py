"""The ticket page of the agent admin: conversation, invoice card, reply box, actions."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from tickets import selectors, services
from tickets.models import Priority, Ticket, TicketMessage
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

    def _back(self, ticket: Ticket):
        return HttpResponseRedirect(reverse("admin:tickets_ticket_change", args=[ticket.pk]))

    def show(self, request, object_id):
        if not str(object_id).isdigit():
            raise Http404
        ticket = self._ticket(request, int(object_id))
        conversation = selectors.ticket_conversation(ticket=ticket)
        refs = [m.delivery_ref for m in conversation if m.delivery_ref]
        delivery = get_backend().delivery_status(refs=refs) if refs else {}
        entries = [{"message": m, "delivery": delivery.get(m.delivery_ref)} for m in conversation]
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
            "events": ticket.events.select_related("actor").order_by("at", "id"),
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
        }
        return TemplateResponse(request, "admin/tickets/ticket/page.html", context)

    def _post(self, request, pk, action, done: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ticket = self._ticket(request, pk)
        try:
            result = action(ticket)
        except services.TicketError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, result if isinstance(result, str) else done)
        return self._back(ticket)

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

        return self._post(request, pk, act, "回复已提交")

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
