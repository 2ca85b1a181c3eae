"""Incidents: detection thresholds, confirmation, pushed updates, the dialog hook."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bot.conversations.models import Follower, Message
from bot.invoices.models import VerificationRecord
from bot.notices import incidents
from bot.notices.broadcasts import NoticesError
from bot.notices.models import Incident, IncidentFollower
from tests.bot.notices.helpers import sent_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def thresholds(settings):
    settings.NOTICES_INCIDENT_MIN_COUNT = 20
    settings.NOTICES_INCIDENT_WINDOW_MINUTES = 30
    settings.NOTICES_INCIDENT_RATE_FACTOR = 3.0
    settings.NOTICES_INCIDENT_BASELINE_HOURS = 1


def _followers(prefix: str, n: int) -> list[Follower]:
    return [
        Follower.objects.create(openid=f"{prefix}{i}", subscribed=True, last_interaction_at=None)
        for i in range(n)
    ]


def _failed_checks(followers, *, region="北京", result="not_found", minutes_ago=5):
    when = timezone.now() - timedelta(minutes=minutes_ago)
    for follower in followers:
        record = VerificationRecord.objects.create(follower=follower, region=region, result=result)
        VerificationRecord.objects.filter(pk=record.pk).update(created_at=when)


def _asked(followers, intent="system_outage", minutes_ago=5):
    when = timezone.now() - timedelta(minutes=minutes_ago)
    for follower in followers:
        m = Message.objects.create(
            follower=follower,
            direction="in",
            msg_type="text",
            text="电子税务局打不开",
            intent=intent,
            dedup_key=f"msg:{follower.openid}:{minutes_ago}",
        )
        Message.objects.filter(pk=m.pk).update(created_at=when)


def test_below_the_minimum_count_nothing_is_proposed(thresholds):
    _failed_checks(_followers("o-", 19))
    assert incidents.incidents_detect() == []
    assert not Incident.objects.exists()


def test_a_burst_from_one_region_proposes_an_incident(thresholds):
    hit = _followers("o-bj", 20)
    _failed_checks(hit[:10], result="not_found")
    _failed_checks(hit[10:], result="upstream_error")
    _failed_checks(_followers("o-sh", 5), region="上海")
    _failed_checks(_followers("o-valid", 30), result="valid")
    [incident] = incidents.incidents_detect()
    assert (incident.status, incident.region, incident.detection_key) == (
        "proposed",
        "北京",
        "region:北京",
    )
    assert incident.detection["count"] == 20
    assert set(incident.followers.values_list("openid", flat=True)) == {f.openid for f in hit}


def test_one_follower_checking_many_times_counts_once(thresholds):
    _failed_checks(_followers("o-same", 1) * 25)
    assert incidents.incidents_detect() == []


def test_checks_outside_the_window_do_not_count(thresholds):
    _failed_checks(_followers("o-old", 25), minutes_ago=31)
    assert incidents.incidents_detect() == []


def test_a_usual_rate_that_high_is_not_an_incident(thresholds):
    # 17 in the hour before: usual 8.5 per 30 minutes, so 25 is under 3x.
    _failed_checks(_followers("o-before", 17), minutes_ago=45)
    _failed_checks(_followers("o-now", 25))
    assert incidents.incidents_detect() == []
    _failed_checks(_followers("o-more", 1))  # 26 >= 25.5
    assert len(incidents.incidents_detect()) == 1


def test_outage_questions_propose_a_system_incident(thresholds):
    _asked(_followers("o-ask", 20))
    [incident] = incidents.incidents_detect()
    assert (incident.system, incident.region, incident.detection_key) == (
        "system_outage",
        "",
        "intent:system_outage",
    )


def test_detection_again_links_new_followers_to_the_same_incident(thresholds):
    _failed_checks(_followers("o-a", 20))
    [incident] = incidents.incidents_detect()
    _failed_checks(_followers("o-b", 3))
    assert incidents.incidents_detect() == [incident]
    assert Incident.objects.count() == 1
    assert incident.affected.count() == 23


def test_confirm_update_and_resolve_reach_the_affected_followers(
    thresholds, fake_wechat, template, django_capture_on_commit_callbacks
):
    hit = _followers("o-hit", 20)
    bystander = _followers("o-by", 1)[0]
    _failed_checks(hit)
    [incident] = incidents.incidents_detect()
    with django_capture_on_commit_callbacks(execute=True):
        incidents.incident_confirm(incident_id=incident.pk, body="北京地区查验服务异常，正在排查")
    with django_capture_on_commit_callbacks(execute=True):
        incidents.incident_update_post(
            incident_id=incident.pk, status="identified", body="原因已定位：上游接口超时"
        )
    with django_capture_on_commit_callbacks(execute=True):
        incidents.incident_update_post(
            incident_id=incident.pk, status="resolved", body="已恢复，请重新查验"
        )
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolved_at is not None
    assert incident.confirmed_at is not None
    for follower in hit:
        calls = sent_to(fake_wechat, follower.openid)
        texts = [c.body["data"]["thing2"]["value"] for c in calls]
        assert len(texts) == 3
        assert "北京地区查验服务异常" in texts[0] and "已恢复" in texts[2]
    assert sent_to(fake_wechat, bystander.openid) == []
    assert [u.broadcast.status for u in incident.updates.all()] == ["done"] * 3
    with pytest.raises(NoticesError) as error:
        incidents.incident_update_post(incident_id=incident.pk, status="monitoring", body="x")
    assert error.value.code == "incident_closed"


def test_dismissed_proposal_tells_nobody(thresholds, fake_wechat):
    _failed_checks(_followers("o-fp", 20))
    [incident] = incidents.incidents_detect()
    incidents.incident_dismiss(incident_id=incident.pk)
    incident.refresh_from_db()
    assert incident.status == "dismissed"
    assert fake_wechat.calls("/cgi-bin/message/template/send") == []
    # A dismissed proposal does not block a new one for the same group.
    assert len(incidents.incidents_detect()) == 1


def test_status_must_be_public(make_follower):
    incident = Incident.objects.create(title="t", status="investigating")
    with pytest.raises(NoticesError) as error:
        incidents.incident_update_post(incident_id=incident.pk, status="proposed", body="x")
    assert error.value.code == "incident_status_invalid"


def test_new_user_is_told_once_and_linked(make_follower, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident = incidents.incident_open(
            title="北京地区发票查验服务异常", region="北京", body="正在排查"
        )
    follower = make_follower("o-new")
    text = incidents.incident_notice_for(follower.pk, "北京")
    assert "北京地区发票查验服务异常" in text and "正在排查" in text
    assert incidents.incident_notice_for(follower.pk, "北京") is None
    link = IncidentFollower.objects.get(incident=incident, follower=follower)
    assert link.source == "dialog"
    assert incidents.incident_notice_for(make_follower("o-sh").pk, "上海") is None


def test_system_wide_incident_matches_any_region(make_follower, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incidents.incident_open(title="电子税务局无法登录", system="电子税务局", body="排查中")
    assert "电子税务局无法登录" in incidents.incident_notice_for(make_follower("o-1").pk, "上海")
    assert incidents.incident_notice_for(make_follower("o-2").pk, None) is not None


def test_resolved_or_proposed_incidents_are_not_told(make_follower):
    Incident.objects.create(title="已解决", region="北京", status="resolved")
    Incident.objects.create(title="待确认", region="北京", status="proposed")
    assert incidents.incident_notice_for(make_follower("o-x").pk, "北京") is None


def test_tickets_of_affected_followers_are_linked(make_follower):
    from bot.notices.selectors import incident_tickets
    from tickets.models import Queue, Ticket

    incident = Incident.objects.create(title="北京查验异常", region="北京")
    hit, other = make_follower("o-t-hit"), make_follower("o-t-other")
    IncidentFollower.objects.create(incident=incident, follower=hit, source="detected")
    queue = Queue.objects.create(name="测试队列", slug="notices-test")
    now = timezone.now()
    for number, openid, created in [
        ("T-1", hit.openid, now),
        ("T-2", other.openid, now),
        ("T-3", hit.openid, now - timedelta(days=2)),
    ]:
        Ticket.objects.create(
            number=number,
            requester_ref=openid,
            queue=queue,
            subject="查不到",
            created_at=created,
            updated_at=created,
            status="closed",
        )
    assert list(incident_tickets(incident=incident).values_list("number", flat=True)) == ["T-1"]


def test_a_burst_for_one_issuer_across_regions_proposes_an_issuer_incident(thresholds):
    hit = _followers("o-iss", 20)
    regions = ["北京", "上海", "广东", "浙江", "江苏"]  # 4 each: no region reaches 20
    when = timezone.now() - timedelta(minutes=5)
    for i, follower in enumerate(hit):
        record = VerificationRecord.objects.create(
            follower=follower,
            region=regions[i % 5],
            result="not_found" if i % 2 else "upstream_error",
            issuer="91110108MA01ABCD2X",
        )
        VerificationRecord.objects.filter(pk=record.pk).update(created_at=when)
    other = _followers("o-other", 19)
    for follower in other:  # another issuer, under the threshold
        VerificationRecord.objects.create(follower=follower, result="not_found", issuer="OTHER")
    [incident] = incidents.incidents_detect()
    assert (incident.status, incident.issuer, incident.region, incident.detection_key) == (
        "proposed",
        "91110108MA01ABCD2X",
        "",
        "issuer:91110108MA01ABCD2X",
    )
    assert "91110108MA01ABCD2X" in incident.title
    assert set(incident.followers.values_list("openid", flat=True)) == {f.openid for f in hit}
