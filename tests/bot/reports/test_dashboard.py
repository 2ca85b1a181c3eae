"""The 数据看板 page, its drill-downs and CSV, for the known traffic."""

import csv
import io
import json
import re

import pytest

from bot.reports import services
from tests.bot.reports import traffic
from tests.bot.reports.conftest import move_traffic_to, past_wednesday

pytestmark = pytest.mark.django_db


@pytest.fixture
def known_day(wechat, agent):
    traffic.send(wechat, agent)
    at = past_wednesday()
    move_traffic_to(at)
    traffic.ticket_times_set()
    return at.date().isoformat()


@pytest.fixture
def boss(client, supervisor):
    client.force_login(supervisor)
    return client


def _data(page) -> dict:
    found = re.search(r'<script id="rp-data" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


def _drill(boss, day, **params):
    page = boss.get("/admin/reports/drill/", {"start": day, "end": day, **params})
    assert page.status_code == 200
    return page.content.decode()


@pytest.mark.parametrize("built", [False, True])
def test_the_dashboard_draws_the_figures_of_the_summary(known_day, boss, supervisor_api, built):
    if built:
        services.reports_refresh(days=30)
    page = boss.get("/admin/reports/", {"start": known_day, "end": known_day}).content.decode()
    data = _data(page)
    summary = supervisor_api.get(
        "/api/reports/summary/", {"start": known_day, "end": known_day}
    ).json()
    for name in ("conversations", "messages_in", "bot_answered", "escalated", "unanswered"):
        assert data["summary"][name] == summary[name], name
    assert data["by_day"]["days"] == [known_day] and data["by_day"]["conversations"] == [12]
    assert sum(data["by_hour"]) == 17 and data["by_hour"][10] == 17  # all sent at 10:xx
    assert data["intents"]["top"][0] == {"intent": "oos", "count": 4}
    assert data["checks"]["by_result"] == {"not_found": 1, "valid": 1}
    assert data["satisfaction"]["distribution"] == [0, 0, 1, 0, 1]
    # 20, 40 and 60 minutes: buckets include their upper bound.
    assert [b["count"] for b in data["tickets"]["first_response"]][:4] == [0, 1, 2, 0]
    assert {r["entry_key"]: (r["useful"], r["useless"]) for r in data["ratings"]} == {
        "sync_delay": (1, 0),
        "void_red": (0, 1),
    }
    assert "chart.umd.min.js" in page and "cdn" not in page.lower()


def test_every_figure_drills_down_to_its_conversations(known_day, boss):
    escalated = _drill(boss, known_day, kind="conversations", figure="escalated")
    assert escalated.count("/admin/reports/conversation/") == 3
    unanswered = _drill(boss, known_day, kind="conversations", figure="unanswered")
    assert all(text in unanswered for text in ("o-remarks-0", "o-remarks-3"))
    link = re.search(r'href="(/admin/reports/conversation/[^"]+)"', unanswered).group(1)
    conversation = boss.get(link).content.decode()
    assert "超出范围" in conversation and "备注" in conversation


def test_ticket_check_and_message_figures_drill_down(known_day, boss):
    missed = _drill(boss, known_day, kind="tickets", figure="sla_missed")
    assert len(re.findall(r"/admin/tickets/ticket/\d+/", missed)) == 1 and "投诉" in missed
    rated = _drill(boss, known_day, kind="tickets", figure="rated", value="5")
    assert len(re.findall(r"/admin/tickets/ticket/\d+/", rated)) == 1
    checks = _drill(boss, known_day, kind="checks", figure="result", value="not_found")
    assert "12345678" in checks
    assert len(re.findall(r"/admin/invoices/verificationrecord/\d+/", checks)) == 1
    oos = _drill(boss, known_day, kind="messages", intent="oos")
    assert all(text in oos for text in traffic.REMARKS)
    ten = _drill(boss, known_day, kind="messages", hour="10")
    assert len(re.findall(r"/admin/conversations/follower/\d+/", ten)) == 17


def test_csv_exports_the_days_and_every_drill_down(known_day, boss):
    response = boss.get("/admin/reports/export.csv", {"start": known_day, "end": known_day})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["日期", "收到消息", "会话"]
    assert rows[1][:7] == [known_day, "17", "12", "4", "3", "3", "4"]
    drill = boss.get(
        "/admin/reports/drill/",
        {"start": known_day, "end": known_day, "kind": "conversations", "figure": "contained",
         "format": "csv"},
    )  # fmt: skip
    lines = list(csv.reader(io.StringIO(drill.content.decode("utf-8-sig"))))
    assert len(lines) == 1 + 3


def test_an_unknown_figure_goes_back_with_a_message(known_day, boss):
    response = boss.get(
        "/admin/reports/drill/", {"kind": "conversations", "figure": "nope"}, follow=True
    )
    assert "没有这项指标" in response.content.decode()
