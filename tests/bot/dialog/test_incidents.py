"""Followers whose problem matches an active incident are told about it, once."""

import datetime

import pytest

from bot.conversations.models import Follower
from bot.notices.incidents import incident_open
from bot.notices.models import IncidentFollower

pytestmark = pytest.mark.django_db

OUTAGE = "开票系统是不是崩了 一直打不开"


def say(wechat, openid, text):
    return wechat.reply(wechat.text(openid, text))["Content"]


def test_without_an_incident_the_answer_is_unchanged(wechat):
    assert "温馨提示" not in say(wechat, "o-inc-none", OUTAGE)


def test_an_outage_question_is_told_about_the_incident_once(
    wechat, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident_open(title="电子税务局开票服务异常", body="正在排查")
    first = say(wechat, "o-inc-1", OUTAGE)
    assert "电子税务局开票服务异常" in first and "正在排查" in first
    follower = Follower.objects.get(openid="o-inc-1")
    assert IncidentFollower.objects.filter(follower=follower).count() == 1
    # Asked again (a returning, "quiet" follower, the webhook's fast path): not repeated.
    again = say(wechat, "o-inc-1", "开票系统还是打不开")
    assert "温馨提示" not in again


def test_a_returning_quiet_follower_still_hears_of_a_new_incident(
    wechat, django_capture_on_commit_callbacks
):
    say(wechat, "o-inc-2", "你好")  # the full path learns the follower is quiet
    say(wechat, "o-inc-2", "谢谢")
    with django_capture_on_commit_callbacks(execute=True):
        incident_open(title="查验平台响应缓慢", body="已定位原因")
    assert "查验平台响应缓慢" in say(wechat, "o-inc-2", OUTAGE)


def test_a_failed_check_in_the_incident_region_is_told(wechat, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident_open(title="北京地区发票数据同步延迟", body="数据正在补传", region="北京")
    issued = datetime.date.today() - datetime.timedelta(days=30)
    text = f"代码011002500111 号码99999999 日期{issued:%Y年%m月%d日} 校验码后6位123456"
    reply = say(wechat, "o-inc-3", text)
    assert "北京地区发票数据同步延迟" in reply
