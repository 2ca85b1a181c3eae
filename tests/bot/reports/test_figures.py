"""The reports' business-time clock says what the help desk's calendar says."""

import random
from datetime import date, datetime, timedelta

import pytest

from bot.nlu.models import FaqEntry, ReplyTemplate
from bot.reports.definitions import TurnOutcome, tz
from bot.reports.figures import BusinessClock
from bot.reports.outcomes import TurnClassifier
from tickets import business_hours
from tickets.models import Holiday

pytestmark = pytest.mark.django_db


def test_the_clock_agrees_with_business_minutes_between():
    Holiday.objects.create(date=date(2026, 10, 1), name="国庆节")
    Holiday.objects.create(date=date(2026, 10, 2), name="国庆节")
    Holiday.objects.create(date=date(2026, 10, 10), name="调休", is_workday=True)  # a Saturday
    clock = BusinessClock(date(2026, 9, 20), date(2026, 10, 31))
    rng = random.Random(7)
    start = datetime(2026, 9, 21, tzinfo=tz())
    for _ in range(400):
        a = start + timedelta(seconds=rng.randrange(30 * 86400))
        b = a + timedelta(seconds=rng.choice([60, 3600, 86400, 5 * 86400]) * rng.random())
        expected = business_hours.business_minutes_between(a, b) * 60
        assert clock.seconds_between(a, b) == expected, (a, b)


def test_known_durations():
    clock = BusinessClock(date(2026, 3, 1), date(2026, 3, 31))
    monday = datetime(2026, 3, 2, 17, 30, tzinfo=tz())
    assert clock.seconds_between(monday, monday + timedelta(hours=16)) == 3600  # 17:30 → 9:30
    friday = datetime(2026, 3, 6, 17, 0, tzinfo=tz())
    # Friday 17:00 to Monday 17:00: one hour on Friday, eight on Monday.
    assert clock.seconds_between(friday, friday + timedelta(days=3)) == 9 * 3600
    assert clock.seconds_between(monday, monday) == 0
    assert clock.seconds_between(monday, None) is None


def test_replies_tell_what_the_bot_did():
    classifier = TurnClassifier.from_live_kb()
    answer = FaqEntry.objects.get(key="sync_delay").answer
    assert classifier.classify(answer + "\n您可以回复序号：1. 转人工") == (
        TurnOutcome.ANSWER,
        "sync_delay",
    )
    oos = FaqEntry.objects.get(key="oos_chitchat").answer
    assert classifier.classify(oos)[0] == TurnOutcome.OUT_OF_SCOPE
    offer = ReplyTemplate.objects.get(key="offer_human").text
    assert classifier.classify(offer)[0] == TurnOutcome.FALLBACK
    clarify = ReplyTemplate.objects.get(key="clarify").text.replace("{options}", "1. 甲\n2. 乙")
    assert classifier.classify(clarify)[0] == TurnOutcome.CLARIFY
    assert classifier.classify("工单 T20260101-0001 已创建")[0] == TurnOutcome.OTHER
    assert classifier.classify("")[0] == TurnOutcome.OTHER
