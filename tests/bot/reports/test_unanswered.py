"""Unanswered-question mining: one need worded four ways is one cluster, and one click
teaches the knowledge base its wording, live."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bot.nlu.models import FaqEntry
from bot.reports.mining import Candidate, clusters_from
from tests.bot.reports import traffic
from tests.bot.reports.conftest import move_traffic_to, past_wednesday

pytestmark = pytest.mark.django_db

UNANSWERED = "/api/reports/unanswered/"
HOUSING_FUND = [
    "公积金怎么提取",
    "住房公积金提取需要什么材料",
    "我想提取公积金怎么办",
    "公积金提取流程是什么",
]


@pytest.fixture
def known_day(wechat, agent):
    traffic.send(wechat, agent)
    at = past_wednesday()
    move_traffic_to(at)
    return at.date().isoformat()


def test_the_four_wordings_of_one_need_are_one_cluster(known_day, supervisor_api):
    clusters = supervisor_api.get(UNANSWERED, {"start": known_day, "end": known_day}).json()
    assert [c["count"] for c in clusters] == [4, 1]
    remarks, useless = clusters
    assert sorted(remarks["examples"]) == sorted(traffic.REMARKS)
    assert remarks["label"] in traffic.REMARKS
    assert remarks["reasons"] == {"oos": 4}
    assert remarks["first_seen"] <= remarks["last_seen"]
    nearest = FaqEntry.objects.get(key=remarks["nearest_entry"]["key"])
    assert nearest.intent_id != "oos" and remarks["nearest_entry"]["question"] == nearest.question
    assert remarks["resolution"] is None
    # The question whose answer was rated 没用 is mined too.
    assert useless["examples"] == ["發票顯示已作廢😭怎麼辦？？"] and useless["reasons"] == {
        "useless": 1
    }


def test_different_needs_stay_apart_and_similar_ones_come_together():
    at = timezone.now()
    found = [
        Candidate(n, at + timedelta(seconds=n), text, "oos")
        for n, text in enumerate(
            [*traffic.REMARKS, *HOUSING_FUND, "给我讲个笑话", "今天天气怎么样"]
        )
    ]
    clusters = clusters_from(found)
    groups = sorted(sorted(c.examples) for c in clusters if c.count > 1)
    assert groups == sorted([sorted(traffic.REMARKS), sorted(HOUSING_FUND)])
    assert sum(c.count for c in clusters) == len(found)


def test_one_click_new_entry_makes_the_next_such_message_answered(
    known_day, client, supervisor, supervisor_api, wechat
):
    client.force_login(supervisor)
    page = client.get("/admin/reports/unanswered/", {"start": known_day, "end": known_day})
    assert page.status_code == 200 and "发票备注" in page.content.decode()
    answer = (
        "发票备注栏按业务填写：例如运输服务写起运地、到达地和车辆信息，"
        "建筑服务写项目名称和地址；没有特别要求时可以不填。"
    )
    response = client.post(
        "/admin/reports/unanswered/entry/",
        {
            "key": "remarks_field",
            "intent": "issuing_problem",
            "question": "发票备注栏怎么填写",
            "answer": answer,
            "label": "发票备注栏怎么填写",
            "texts": traffic.REMARKS,
            "query": f"start={known_day}&end={known_day}",
        },
    )
    assert response.status_code == 302 and known_day in response["Location"]
    entry = FaqEntry.objects.get(key="remarks_field")
    assert sorted([entry.question, *entry.paraphrase_list]) == sorted(traffic.REMARKS)
    # Live without a restart: the next message worded like them is answered by the entry.
    reply = traffic.say(wechat, "o-later", "发票备注栏写什么")
    assert reply.startswith(answer)
    clusters = supervisor_api.get(UNANSWERED, {"start": known_day, "end": known_day}).json()
    resolution = clusters[0]["resolution"]
    assert resolution["entry"] == "remarks_field" and resolution["kind"] == "新建条目"
    assert resolution["answered_since"] == 1
    assert resolution["by"] == supervisor.username


def test_one_click_paraphrases_join_an_existing_entry(known_day, client, supervisor, wechat):
    client.force_login(supervisor)
    entry = FaqEntry.objects.get(key="issuing")
    before = entry.paraphrase_list
    response = client.post(
        "/admin/reports/unanswered/paraphrases/",
        {"entry": "issuing", "label": traffic.REMARKS[0], "texts": traffic.REMARKS},
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.paraphrase_list == [*before, *traffic.REMARKS]
    assert traffic.say(wechat, "o-later-2", traffic.REMARKS[2]).startswith(entry.answer)


def test_a_bad_entry_is_refused_with_a_message(known_day, client, supervisor):
    client.force_login(supervisor)
    response = client.post(
        "/admin/reports/unanswered/entry/",
        {"key": "x", "intent": "nope", "question": "q", "answer": "a", "texts": ["t"]},
        follow=True,
    )
    assert "意图不存在" in response.content.decode()
    assert not FaqEntry.objects.filter(key="x").exists()
