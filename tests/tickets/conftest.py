"""Help-desk fixtures: agents, tickets and the in-memory notify backend."""

import itertools

import pytest
from django.contrib.auth import get_user_model

from tickets import notify, services
from tickets.models import AgentProfile, Queue

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def locmem_backend(settings):
    settings.TICKETS_NOTIFY_BACKEND = "tickets.notify.LocmemBackend"
    notify.outbox.clear()
    yield notify.outbox
    notify.outbox.clear()


@pytest.fixture
def queue(db):
    return Queue.objects.get(slug="verify")


@pytest.fixture
def make_agent(db):
    def make(*queues, username=None, on_duty=True, capacity=10, supervisor=False, notify_ref=""):
        user = get_user_model().objects.create_user(
            username=username or f"agent{next(_seq)}", password="pw", is_staff=True
        )
        profile = AgentProfile.objects.create(
            user=user,
            on_duty=on_duty,
            capacity=capacity,
            is_supervisor=supervisor,
            notify_ref=notify_ref,
        )
        profile.queues.set(queues)
        return user

    return make


@pytest.fixture
def make_ticket(db):
    def make(openid=None, category="invoice_not_found", text="发票查不到", **kwargs):
        return services.ticket_escalate(
            requester_ref=openid or f"o-{next(_seq)}",
            requester_name="张三",
            category=category,
            reason="asked",
            text=text,
            **kwargs,
        ).ticket

    return make


class Clock:
    """A settable `timezone.now()` for SLA and housekeeping tests."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, **delta):
        from datetime import timedelta

        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    from django.utils import timezone

    from tests.tickets.helpers import at

    c = Clock(at(2025, 11, 27, 10, 0))  # a Thursday, 10:00 in Shanghai
    monkeypatch.setattr(timezone, "now", c)
    return c


@pytest.fixture
def seeded_queues(db):
    """The queues, SLA targets and canned responses of migration 0002 (idempotent)."""
    import importlib

    from django.apps import apps

    importlib.import_module("tickets.migrations.0002_seed").seed(apps, None)
