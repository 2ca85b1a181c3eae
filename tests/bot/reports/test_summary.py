"""Known traffic through the webhook gives exactly the figures of docs/reports.md."""

from datetime import timedelta

import pytest

from bot.feedback.models import AnswerRating, Suggestion
from bot.invoices.models import VerificationRecord
from bot.reports import services
from bot.reports.models import DailyRollup, ReportConversation, RollupDay
from tests.bot.reports import traffic
from tests.bot.reports.conftest import move_traffic_to, past_wednesday

pytestmark = pytest.mark.django_db

SUMMARY = "/api/reports/summary/"


@pytest.fixture
def known_day(wechat, agent):
    """The known traffic, moved to 10:00 on a past Wednesday; returns that day."""
    replies = traffic.send(wechat, agent)
    at = past_wednesday()
    move_traffic_to(at)
    traffic.ticket_times_set()
    return at.date(), replies


def _causes() -> dict:
    found: dict[str, int] = {}
    for diagnosis in VerificationRecord.objects.values_list("diagnosis", flat=True):
        if diagnosis:
            found[diagnosis] = found.get(diagnosis, 0) + 1
    return found


def test_the_traffic_is_what_the_figures_expect(known_day):
    _, replies = known_day
    assert "工单" in replies["human"][0] and "5" in replies["human"][1]
    assert AnswerRating.objects.filter(useful=True, entry_key="sync_delay").count() == 1
    assert AnswerRating.objects.filter(useful=False, entry_key="void_red").count() == 1
    assert "转人工" in replies["useless"][1]  # 没用 offers a person, or to say it otherwise
    assert Suggestion.objects.get().text == "建议查验页面做得简单点"
    assert sorted(VerificationRecord.objects.values_list("result", flat=True)) == [
        "not_found",
        "valid",
    ]


def test_every_figure_of_the_summary_exactly(known_day, supervisor_api):
    day, _ = known_day
    response = supervisor_api.get(SUMMARY, {"start": day.isoformat(), "end": day.isoformat()})
    assert response.status_code == 200, response.content
    assert response.json() == {**traffic.EXPECTED, "causes": _causes()}
    assert _causes()  # both checks were diagnosed


def test_the_rollups_say_what_the_live_figures_say(known_day, supervisor_api):
    day, _ = known_day
    params = {"start": day.isoformat(), "end": day.isoformat()}
    live = supervisor_api.get(SUMMARY, params).json()
    done = services.reports_refresh(days=30)
    assert day.isoformat() in done["days"]
    assert RollupDay.objects.get(day=day).settled
    assert ReportConversation.objects.filter(day=day).count() == 12
    assert sum(r.conversations for r in DailyRollup.objects.filter(day=day)) == 12
    assert supervisor_api.get(SUMMARY, params).json() == live
    # A second run rebuilds only the days not settled yet (yesterday may still change).
    assert day.isoformat() not in services.reports_refresh(days=30)["days"]
    # A rebuild writes the same rows.
    services.reports_day_build(day=day)
    assert supervisor_api.get(SUMMARY, params).json() == live


def test_a_queue_keeps_its_conversations_and_tickets(known_day, supervisor_api):
    day, _ = known_day
    params = {"start": day.isoformat(), "end": day.isoformat(), "queue": "complaint"}
    found = supervisor_api.get(SUMMARY, params).json()
    # The complaint (a ticket of that queue) and the suggestion (its intent goes there).
    assert (found["conversations"], found["escalated"], found["messages_in"]) == (2, 1, 3)
    assert found["deflection_rate"] == 0.5 and found["containment_rate"] == 0.5
    assert (found["csat_average"], found["csat_responses"]) == (3.0, 1)
    assert found["first_response_p50_seconds"] == 2400
    assert found["sla_first_response_met_rate"] == 0.0
    assert found["invoice_checks"] == {"not_found": 1, "valid": 1}  # checks belong to no queue


def test_today_is_live_without_any_rollup(wechat, agent, supervisor_api):
    traffic.send(wechat, agent)
    found = supervisor_api.get(SUMMARY).json()  # the last 30 days, today included
    expected = {k: v for k, v in traffic.EXPECTED.items() if not k.endswith(("seconds", "rate"))}
    assert {k: found[k] for k in expected} == {**expected, "csat_average": 4.0}
    assert found["deflection_rate"] == 0.75 and found["containment_rate"] == 0.25
    assert not RollupDay.objects.exists()


def test_days_outside_the_range_count_nothing(known_day, supervisor_api):
    day, _ = known_day
    before = (day - timedelta(days=1)).isoformat()
    found = supervisor_api.get(SUMMARY, {"start": before, "end": before}).json()
    assert (found["conversations"], found["messages_in"], found["invoice_checks"]) == (0, 0, {})
    assert (found["deflection_rate"], found["csat_responses"]) == (None, 0)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"start": "2026-13-01"}, "invalid_date"),
        ({"start": "2026-03-05", "end": "2026-03-01"}, "range_reversed"),
        ({"start": "2024-01-01", "end": "2026-01-01"}, "range_too_long"),
        ({"queue": "nope"}, "unknown_queue"),
    ],
)
def test_bad_ranges_are_refused_in_the_one_error_format(supervisor_api, params, code):
    response = supervisor_api.get(SUMMARY, params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
