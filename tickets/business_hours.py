"""Business-time arithmetic: working days and hours, holidays and make-up working days (调休).

The schedule comes from the `TICKETS_BUSINESS_HOURS` setting, read on every call:
``{"timezone": "Asia/Shanghai", "weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}``
(weekdays: Monday is 0). `Holiday` rows override single days either way.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

DEFAULT_BUSINESS_HOURS = {
    "timezone": "Asia/Shanghai",
    "weekdays": [0, 1, 2, 3, 4],
    "start": "09:00",
    "end": "18:00",
}
# A calendar without a single working day in ten years is a configuration error.
_MAX_DAYS = 3660
_HOLIDAY_CHUNK_DAYS = 400


@dataclass(frozen=True)
class Schedule:
    tz: ZoneInfo
    weekdays: frozenset[int]
    start: time
    end: time


def schedule() -> Schedule:
    """Return the configured weekly schedule."""
    conf = {**DEFAULT_BUSINESS_HOURS, **getattr(settings, "TICKETS_BUSINESS_HOURS", {})}
    start, end = time.fromisoformat(conf["start"]), time.fromisoformat(conf["end"])
    if end <= start:
        raise ValueError("TICKETS_BUSINESS_HOURS: end must be after start")
    return Schedule(
        tz=ZoneInfo(conf["timezone"]),
        weekdays=frozenset(int(day) for day in conf["weekdays"]),
        start=start,
        end=end,
    )


class _Calendar:
    """Working windows per day; holiday rows are loaded in chunks as the walk needs them."""

    def __init__(self, sched: Schedule):
        self.sched = sched
        self._overrides: dict[date, bool] = {}
        self._loaded: tuple[date, date] | None = None

    def _load(self, day: date) -> None:
        from tickets.models import Holiday

        lo, hi = day, day + timedelta(days=_HOLIDAY_CHUNK_DAYS)
        rows = Holiday.objects.filter(date__gte=lo, date__lt=hi).values_list("date", "is_workday")
        self._overrides.update(dict(rows))
        if self._loaded and self._loaded[1] == lo:
            lo = self._loaded[0]
        self._loaded = (lo, hi)

    def is_workday(self, day: date) -> bool:
        if self._loaded is None or not (self._loaded[0] <= day < self._loaded[1]):
            self._load(day)
        return self._overrides.get(day, day.weekday() in self.sched.weekdays)

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        if not self.is_workday(day):
            return None
        tz = self.sched.tz
        return (
            datetime.combine(day, self.sched.start, tzinfo=tz),
            datetime.combine(day, self.sched.end, tzinfo=tz),
        )


def _aware(value: datetime) -> None:
    if value.tzinfo is None:
        raise ValueError("business-time arithmetic needs timezone-aware datetimes")


def add_business_minutes(start: datetime, minutes: int) -> datetime:
    """Return the moment `minutes` of business time after `start`."""
    _aware(start)
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    sched = schedule()
    cursor = start.astimezone(sched.tz)
    remaining = timedelta(minutes=minutes)
    if not remaining:
        return cursor
    calendar = _Calendar(sched)
    day = cursor.date()
    for _ in range(_MAX_DAYS):
        window = calendar.window(day)
        if window is not None:
            opens, closes = window
            begin = max(cursor, opens)
            if begin < closes:
                if remaining <= closes - begin:
                    return begin + remaining
                remaining -= closes - begin
        day += timedelta(days=1)
    raise ValueError("no business time found; check TICKETS_BUSINESS_HOURS and holidays")


def business_minutes_between(a: datetime, b: datetime) -> int:
    """Return the whole business minutes from `a` to `b` (0 when `b` is not after `a`)."""
    _aware(a)
    _aware(b)
    if b <= a:
        return 0
    sched = schedule()
    a, b = a.astimezone(sched.tz), b.astimezone(sched.tz)
    calendar = _Calendar(sched)
    total = timedelta()
    day = a.date()
    while day <= b.date():
        window = calendar.window(day)
        if window is not None:
            begin, end = max(a, window[0]), min(b, window[1])
            if begin < end:
                total += end - begin
        day += timedelta(days=1)
    return int(total.total_seconds() // 60)
