"""Fixtures of the reports' tests: the two roles, API clients, and moving traffic in time."""

from datetime import datetime, time, timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import F
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from bot.conversations.models import Follower, Message
from bot.feedback.models import AnswerRating, Suggestion
from bot.invoices.models import VerificationRecord
from bot.reports.definitions import tz
from support.roles import Role
from tickets.models import AgentProfile, Queue, Ticket, TicketEvent, TicketMessage

MOVED = (Message, Follower, Ticket, TicketMessage, TicketEvent, VerificationRecord, AnswerRating,
         Suggestion)  # fmt: skip


@pytest.fixture(autouse=True)
def wechat_backend(settings):
    settings.TICKETS_NOTIFY_BACKEND = "bot.helpdesk.backend.WeChatTicketBackend"


@pytest.fixture
def supervisor(django_user_model):
    user = django_user_model.objects.create_user("boss", password="pw-boss-123", is_staff=True)
    user.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    profile = AgentProfile.objects.create(user=user, on_duty=True, notify_ref="o-boss")
    profile.queues.set(Queue.objects.all())
    return user


@pytest.fixture
def agent(django_user_model):
    user = django_user_model.objects.create_user("agent", password="pw-agent-123", is_staff=True)
    user.groups.add(Group.objects.get(name=Role.AGENT))
    profile = AgentProfile.objects.create(user=user, on_duty=True, notify_ref="o-agent-1")
    profile.queues.set(Queue.objects.all())
    return user


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=user)[1]}")
    return client


@pytest.fixture
def supervisor_api(supervisor):
    return token_client(supervisor)


@pytest.fixture
def agent_api(agent):
    return token_client(agent)


def past_wednesday(weeks: int = 1) -> datetime:
    """10:00 (Asia/Shanghai) on a Wednesday at least a week ago: inside business hours."""
    today = timezone.now().astimezone(tz()).date()
    day = today - timedelta(days=7 * weeks + (today.weekday() - 2) % 7)
    return datetime.combine(day, time(10, 0), tzinfo=tz())


def move_traffic_to(at: datetime) -> None:
    """Move the traffic so that its first message was sent at `at`."""
    first = Message.objects.order_by("created_at").values_list("created_at", flat=True).first()
    move_everything(at - first)


def move_everything(delta: timedelta) -> None:
    """Shift every moment of the traffic by `delta`, as if it had happened then."""
    for model in MOVED:
        fields = {
            f.attname: F(f.attname) + delta
            for f in model._meta.concrete_fields
            if isinstance(f, models.DateTimeField)
        }
        model.objects.update(**fields)
