"""Business-time arithmetic: working hours in Asia/Shanghai, weekends, holidays, 调休."""

import pytest

from tests.tickets.helpers import at
from tickets.business_hours import add_business_minutes, business_minutes_between
from tickets.models import Holiday

pytestmark = pytest.mark.django_db


def test_within_one_working_day():
    # Thursday 2025-11-27 10:00 + 90 minutes
    assert add_business_minutes(at(2025, 11, 27, 10, 0), 90) == at(2025, 11, 27, 11, 30)


def test_rolls_over_the_night():
    # 17:30 + 60 min: 30 today, 30 from 09:00 tomorrow
    assert add_business_minutes(at(2025, 11, 27, 17, 30), 60) == at(2025, 11, 28, 9, 30)


def test_skips_the_weekend():
    # Friday 17:00 + 120 min → Monday 10:00
    assert add_business_minutes(at(2025, 11, 28, 17, 0), 120) == at(2025, 12, 1, 10, 0)


def test_starts_counting_at_opening_when_created_at_night():
    assert add_business_minutes(at(2025, 11, 27, 3, 0), 15) == at(2025, 11, 27, 9, 15)


def test_holidays_and_make_up_workdays():
    # National Day week: Wed 2025-10-01 off; Saturday 2025-09-27 worked (调休).
    Holiday.objects.create(date=at(2025, 10, 1, 0, 0).date(), name="国庆节")
    Holiday.objects.create(date=at(2025, 9, 27, 0, 0).date(), name="调休", is_workday=True)
    assert add_business_minutes(at(2025, 9, 30, 17, 0), 120) == at(2025, 10, 2, 10, 0)
    assert add_business_minutes(at(2025, 9, 26, 17, 0), 120) == at(2025, 9, 27, 10, 0)


def test_utc_input_is_read_in_shanghai_time():
    from datetime import UTC, datetime

    # 01:00 UTC = 09:00 Shanghai
    start = datetime(2025, 11, 27, 1, 0, tzinfo=UTC)
    assert add_business_minutes(start, 30) == at(2025, 11, 27, 9, 30)


def test_minutes_between_counts_only_open_hours():
    # Friday 17:00 → Monday 10:00 = 60 + 60
    assert business_minutes_between(at(2025, 11, 28, 17, 0), at(2025, 12, 1, 10, 0)) == 120
    assert business_minutes_between(at(2025, 12, 1, 10, 0), at(2025, 11, 28, 17, 0)) == 0


def test_between_is_the_inverse_of_add():
    start = at(2025, 11, 27, 16, 10)
    for minutes in (1, 50, 540, 1000, 2700):
        assert business_minutes_between(start, add_business_minutes(start, minutes)) == minutes


def test_naive_datetimes_are_refused():
    from datetime import datetime

    with pytest.raises(ValueError):
        add_business_minutes(datetime(2025, 11, 27, 10, 0), 5)
