"""Reads of the help desk: what an agent may see, a requester's tickets, wait estimates."""

import re
import statistics
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet
from django.utils import timezone

from tickets import business_hours
from tickets.models import AgentProfile, CannedResponse, Queue, SlaTarget, Ticket, TicketMessage
from tickets.services.config import conf


def agent_profile_of(user: AbstractBaseUser | None) -> AgentProfile | None:
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.agent_profile
    except AgentProfile.DoesNotExist:
        return None


def is_agent(user: AbstractBaseUser | None) -> bool:
    """Staff who may work tickets: superusers, and staff users with an agent profile."""
    if user is None or not user.is_authenticated or not user.is_active or not user.is_staff:
        return False
    return user.is_superuser or agent_profile_of(user) is not None


def sees_everything(user: AbstractBaseUser) -> bool:
    profile = agent_profile_of(user)
    return user.is_superuser or (profile is not None and profile.is_supervisor)


def queues_visible_to(*, user: AbstractBaseUser) -> QuerySet[Queue]:
    if not is_agent(user):
        return Queue.objects.none()
    if sees_everything(user):
        return Queue.objects.all()
    return Queue.objects.filter(agents__user=user)


def tickets_visible_to(*, user: AbstractBaseUser) -> QuerySet[Ticket]:
    """Agents see their queues' tickets; supervisors and superusers see everything."""
    if not is_agent(user):
        return Ticket.objects.none()
    if sees_everything(user):
        return Ticket.objects.all()
    # A short id list keeps the planner on the ticket indexes (no join through the M2M).
    queue_ids = list(Queue.objects.filter(agents__user=user).values_list("pk", flat=True))
    return Ticket.objects.filter(queue_id__in=queue_ids)


def ticket_list(
    *,
    user: AbstractBaseUser,
    openid: str = "",
    status: str = "",
    queue: str = "",
    assignee: str = "",
) -> QuerySet[Ticket]:
    qs = tickets_visible_to(user=user).select_related("queue", "assignee")
    if openid:
        qs = qs.filter(requester_ref=openid)
    if status:
        qs = qs.filter(status__in=status.split(","))
    if queue:
        qs = qs.filter(queue__pk=int(queue)) if queue.isdigit() else qs.filter(queue__slug=queue)
    if assignee:
        qs = qs.filter(assignee__username=assignee)
    return qs.order_by("-created_at", "-id")


def ticket_conversation(*, ticket: Ticket) -> list[TicketMessage]:
    """The whole conversation in order: requester, bot, agents, internal notes."""
    return list(ticket.messages.select_related("author").order_by("created_at", "id"))


def tickets_of_requester(*, requester_ref: str, limit: int = 5) -> list[Ticket]:
    """A requester's most recent tickets (merged duplicates left out)."""
    return list(
        Ticket.objects.filter(requester_ref=requester_ref, merged_into__isnull=True)
        .select_related("queue")
        .order_by("-created_at", "-id")[:limit]
    )


def ticket_active_of(*, requester_ref: str) -> Ticket | None:
    return Ticket.objects.filter(
        requester_ref=requester_ref, status__in=Ticket.ACTIVE_STATUSES, merged_into__isnull=True
    ).first()


def ticket_rateable_of(*, requester_ref: str) -> Ticket | None:
    """The requester's resolved ticket still inside the reopen window, if any (latest first)."""
    since = timezone.now() - timezone.timedelta(days=conf("TICKETS_REOPEN_DAYS"))
    return (
        Ticket.objects.filter(
            requester_ref=requester_ref,
            status=Ticket.Status.RESOLVED,
            resolved_at__gte=since,
            merged_into__isnull=True,
        )
        .order_by("-resolved_at")
        .first()
    )


@dataclass(frozen=True)
class WaitEstimate:
    minutes: int  # business minutes until a person answers, estimated
    eta: datetime  # the moment, local time
    within_hours: bool  # True when the answer should come today during business hours
    ahead: int  # tickets in the queue waiting before this one


def ticket_wait_estimate(*, ticket: Ticket, now: datetime | None = None) -> WaitEstimate:
    """Estimate when a person answers: recent response times, the queue ahead, on-duty agents.

    Capped by the first-response SLA target, which is the promise the desk makes.
    """
    now = now or timezone.now()
    waiting = Ticket.objects.filter(
        queue_id=ticket.queue_id,
        status__in=Ticket.ACTIVE_STATUSES,
        first_response_at__isnull=True,
    )
    ahead = waiting.filter(created_at__lt=ticket.created_at).count()
    on_duty = AgentProfile.objects.filter(
        queues=ticket.queue_id, on_duty=True, user__is_active=True
    ).count()
    recent = list(
        Ticket.objects.filter(queue_id=ticket.queue_id, first_response_at__isnull=False)
        .order_by("-first_response_at")
        .values_list("created_at", "first_response_at")[:30]
    )
    per_ticket = conf("TICKETS_MINUTES_PER_TICKET")
    typical = (
        int(statistics.median(business_hours.business_minutes_between(a, b) for a, b in recent))
        if recent
        else per_ticket
    )
    minutes = max(typical, 1) + (ahead * per_ticket) // max(on_duty, 1)
    target = SlaTarget.objects.filter(queue_id=ticket.queue_id, priority=ticket.priority).first()
    if target is not None:
        minutes = min(minutes, target.first_response_minutes)
    eta = business_hours.add_business_minutes(now, minutes)
    # No closed hours in between: the wall-clock wait is the business-time wait.
    within = (eta - now).total_seconds() <= (minutes + 1) * 60
    return WaitEstimate(
        minutes=minutes, eta=timezone.localtime(eta), within_hours=within, ahead=ahead
    )


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def canned_placeholders(*, ticket: Ticket, agent: AbstractBaseUser | None) -> dict[str, str]:
    numbers = ticket.invoice_numbers.split()
    name = ""
    if agent is not None:
        name = agent.get_full_name() or agent.get_username()
    return {
        "ticket_number": ticket.number,
        "invoice_number": numbers[0] if numbers else "",
        "nickname": ticket.requester_name or "您",
        "agent_name": name,
        "queue": ticket.queue.name,
    }


def canned_fill(*, text: str, values: dict[str, str]) -> str:
    """Fill {placeholders}; unknown ones stay as written (no str.format: no attribute access)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def canned_for(
    *, ticket: Ticket, agent: AbstractBaseUser | None
) -> list[tuple[CannedResponse, str]]:
    """The canned responses offered on a ticket, each with its filled text."""
    values = canned_placeholders(ticket=ticket, agent=agent)
    responses = CannedResponse.objects.filter(Q(queue__isnull=True) | Q(queue=ticket.queue_id))
    return [(r, canned_fill(text=r.text, values=values)) for r in responses]
