"""Reads of the help desk: what an agent may see, a requester's tickets, wait estimates."""

import statistics
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet
from django.utils import timezone

from tickets import business_hours
from tickets.models import AgentProfile, CannedResponse, Queue, SlaTarget, Ticket, TicketMessage
from tickets.placeholders import canned_fill, canned_unfilled
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


def agent_display_name(user: AbstractBaseUser | None) -> str:
    """The name an agent signs with: the profile's display name, the full name, else 客服."""
    if user is None:
        return ""
    profile = agent_profile_of(user)
    if profile is not None and profile.display_name:
        return profile.display_name
    return user.get_full_name() or "客服"


def canned_placeholders(*, ticket: Ticket, agent: AbstractBaseUser | None) -> dict[str, str]:
    """Placeholder values of a ticket; an empty value means the placeholder has none."""
    numbers = ticket.invoice_numbers.split()
    return {
        "ticket_number": ticket.number,
        "invoice_number": numbers[-1] if numbers else "",
        # A name falls back to a polite form: never "您，您好".
        "nickname": ticket.requester_name or "尊敬的用户",
        "agent_name": agent_display_name(agent) if agent is not None else "",
        "queue": ticket.queue.name,
    }


def canned_for(
    *, ticket: Ticket, agent: AbstractBaseUser | None
) -> list[tuple[CannedResponse, str, list[str]]]:
    """The canned responses offered on a ticket: filled text and placeholders without a value."""
    values = canned_placeholders(ticket=ticket, agent=agent)
    responses = CannedResponse.objects.filter(Q(queue__isnull=True) | Q(queue=ticket.queue_id))
    out = []
    for response in responses:
        filled = canned_fill(text=response.text, values=values)
        out.append((response, filled, canned_unfilled(text=filled)))
    return out


@dataclass(frozen=True)
class WorkList:
    key: str
    title: str
    count: int
    tickets: list
    url_query: str


def agent_work(*, user: AbstractBaseUser, limit: int = 8) -> list[WorkList]:
    """An agent's start page: my open tickets, unassigned in my queues, breaching soon,
    waiting on the user; each with its count (capped like the queue view) and the first few.
    """
    visible = tickets_visible_to(user=user).filter(
        status__in=Ticket.ACTIVE_STATUSES, merged_into__isnull=True
    )
    horizon = timezone.now() + timezone.timedelta(hours=1)
    soon = Q(first_response_at__isnull=True, first_response_due__lte=horizon) | Q(
        sla_paused_at__isnull=True, resolution_due__lte=horizon
    )
    lists = [
        (
            "mine",
            "我的待处理工单",
            visible.filter(assignee=user).exclude(status=Ticket.Status.PENDING),
            f"assignee={user.pk}&status__exact=open",
        ),
        ("unassigned", "我的队列中未分配", visible.filter(assignee__isnull=True), "assignee=none"),
        ("breaching", "即将超时（1 小时内）", visible.filter(soon), "sla=due_1h"),
        (
            "waiting",
            "等待用户回复",
            visible.filter(assignee=user, status=Ticket.Status.PENDING),
            f"assignee={user.pk}&status__exact=pending",
        ),
    ]
    out = []
    for key, title, qs, query in lists:
        rows = list(qs.select_related("queue").order_by("updated_at", "id")[:limit])
        count = qs[:10_000].count() if len(rows) == limit else len(rows)
        out.append(WorkList(key=key, title=title, count=count, tickets=rows, url_query=query))
    return out
