"""Fixtures of the notice tests: followers inside and outside WeChat's 48-hour window."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bot.conversations.models import Follower
from bot.notices.models import NoticeTemplate
from bot.notices.throttle import throttle_reset


@pytest.fixture(autouse=True)
def _fresh_bucket():
    throttle_reset()
    yield
    throttle_reset()


@pytest.fixture
def make_follower(db):
    def make(openid: str, *, hours_ago: float | None = 1, subscribed: bool = True) -> Follower:
        last = None if hours_ago is None else timezone.now() - timedelta(hours=hours_ago)
        return Follower.objects.create(
            openid=openid, subscribed=subscribed, last_interaction_at=last
        )

    return make


@pytest.fixture
def template(db):
    """The template configured for broadcasts and incident updates, as a supervisor would."""
    mapping = {"thing1": "{title}", "thing2": "{text}", "time3": "{time}"}
    NoticeTemplate.objects.create(kind="broadcast", template_id="TPL-BCAST", field_mapping=mapping)
    NoticeTemplate.objects.create(
        kind="incident_update", template_id="TPL-INCIDENT", field_mapping=mapping
    )
    return NoticeTemplate.objects.create(
        kind="invoice_in_system", template_id="TPL-INVOICE", field_mapping=mapping
    )


@pytest.fixture(autouse=True)
def _fresh_content_types():
    """Forget content-type ids a transactional test's flush may have left stale.

    A browser test (transaction + serialized rollback) ends with a flush that leaves no
    content types; an id still cached here would make the audit trail's insert fail.
    """
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    yield
