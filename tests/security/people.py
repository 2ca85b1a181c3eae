"""The six kinds of caller of the permission matrix, and hashed API tokens for them."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from knox.models import AuthToken

from bot.conversations.models import Follower
from support.roles import Role
from tickets.models import AgentProfile, Queue, Ticket

# Columns of the matrix in docs/security.md, in order.
CALLERS = ("anonymous", "non_staff", "staff", "agent_a", "agent_b", "supervisor")


def token_for(user) -> str:
    """A knox token (stored hashed) for the user: the value a client sends."""
    return AuthToken.objects.create(user=user)[1]


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {token_for(user)}"}


@dataclass
class People:
    users: dict  # caller name -> user (None for anonymous)
    queue_a: Queue
    queue_b: Queue
    follower_a: Follower  # a requester of a queue-A ticket
    follower_b: Follower  # a requester of a queue-B ticket
    ticket_a: Ticket
    ticket_b: Ticket


def _ticket(number: str, follower: Follower, queue: Queue) -> Ticket:
    now = timezone.now()
    return Ticket.objects.create(
        number=number,
        requester_ref=follower.openid,
        queue=queue,
        subject="发票查不到",
        created_at=now,
        updated_at=now,
    )


def people_make() -> People:
    """Anonymous, a non-staff user, staff without a role, agents of A and B, a supervisor."""
    users = get_user_model().objects
    agents = Group.objects.get_or_create(name=Role.AGENT)[0]
    supervisors = Group.objects.get_or_create(name=Role.SUPERVISOR)[0]
    queue_a = Queue.objects.create(name="队列A", slug="queue-a")
    queue_b = Queue.objects.create(name="队列B", slug="queue-b")
    made = {"anonymous": None}
    made["non_staff"] = users.create_user("p-taxpayer", password="pw-123456")
    made["staff"] = users.create_user("p-staff", password="pw-123456", is_staff=True)
    for name, queue in (("agent_a", queue_a), ("agent_b", queue_b)):
        user = users.create_user(f"p-{name}", password="pw-123456", is_staff=True)
        user.groups.add(agents)
        AgentProfile.objects.create(user=user).queues.add(queue)
        made[name] = user
    lead = users.create_user("p-lead", password="pw-123456", is_staff=True)
    lead.groups.add(supervisors)
    AgentProfile.objects.create(user=lead, is_supervisor=True)
    made["supervisor"] = lead
    follower_a = Follower.objects.create(openid="o-queue-a", subscribed=True)
    follower_b = Follower.objects.create(openid="o-queue-b", subscribed=True)
    return People(
        users=made,
        queue_a=queue_a,
        queue_b=queue_b,
        follower_a=follower_a,
        follower_b=follower_b,
        ticket_a=_ticket("T-A-1", follower_a, queue_a),
        ticket_b=_ticket("T-B-1", follower_b, queue_b),
    )


def supervisor_make(username: str, **extra):
    """A staff user in the 主管 group (no agent profile needed)."""
    user = get_user_model().objects.create_user(
        username, password="pw-123456", is_staff=True, **extra
    )
    user.groups.add(Group.objects.get_or_create(name=Role.SUPERVISOR)[0])
    return user
