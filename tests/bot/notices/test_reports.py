"""WeChat's reports on pushes, through the webhook: receipts on messages, notices, broadcasts."""

import pytest

from bot.channels.wechat.events import delivery_report_record, delivery_reported
from bot.conversations.models import FollowerTag, Message
from bot.notices import broadcasts
from bot.notices.models import Notice

pytestmark = pytest.mark.django_db

TPL = "/cgi-bin/message/template/send"
MASS = "/cgi-bin/message/mass/sendall"


def _template_notice(make_follower, capture, openid):
    from bot.notices.services import notice_send

    follower = make_follower(openid, hours_ago=100)
    with capture(execute=True):
        notice = notice_send(
            kind="invoice_in_system", follower_id=follower.pk, text="已入库", idempotency_key="k"
        )
    notice.refresh_from_db()
    assert notice.status == "sent" and notice.wechat_msg_id
    return follower, notice


def test_a_delivered_template_message_is_a_receipt_on_its_message(
    make_follower, fake_wechat, template, wechat, django_capture_on_commit_callbacks
):
    follower, notice = _template_notice(make_follower, django_capture_on_commit_callbacks, "o-rcpt")
    response = wechat.event(
        follower.openid, "TEMPLATESENDJOBFINISH", MsgID=notice.wechat_msg_id, Status="success"
    )
    assert response.content == b"success"
    assert Message.objects.get(notice=notice).delivery_status == "delivered"
    notice.refresh_from_db()
    assert (notice.status, notice.error_message) == ("sent", "")


def test_a_refused_template_message_is_noted_on_its_notice(
    make_follower, fake_wechat, template, wechat, django_capture_on_commit_callbacks
):
    follower, notice = _template_notice(
        make_follower, django_capture_on_commit_callbacks, "o-block"
    )
    wechat.event(
        follower.openid,
        "TEMPLATESENDJOBFINISH",
        MsgID=notice.wechat_msg_id,
        Status="failed:user block",
    )
    message = Message.objects.get(notice=notice)
    assert (message.delivery_status, message.error_message) == ("failed", "failed:user block")
    notice.refresh_from_db()
    assert notice.status == "sent"  # WeChat accepted the call; the report says the rest
    assert notice.error_message == "WeChat delivery report: failed:user block"


def test_a_report_on_another_followers_msgid_changes_nothing(
    make_follower, fake_wechat, template, django_capture_on_commit_callbacks
):
    _, notice = _template_notice(make_follower, django_capture_on_commit_callbacks, "o-mine")
    other = make_follower("o-other")
    delivery_report_record(
        follower=other,
        fields={"Event": "TEMPLATESENDJOBFINISH", "MsgID": notice.wechat_msg_id, "Status": "x"},
    )
    assert Message.objects.get(notice=notice).delivery_status == "sent"
    notice.refresh_from_db()
    assert notice.error_message == ""


def test_the_channel_signals_every_report(make_follower):
    follower = make_follower("o-signal")
    heard = []

    def listen(**kwargs):
        heard.append({k: kwargs[k] for k in ("event", "msg_id", "status", "delivered")})

    delivery_reported.connect(listen)
    try:
        delivery_report_record(
            follower=follower,
            fields={"Event": "templatesendjobfinish", "MsgID": "42", "Status": "success"},
        )
        delivery_report_record(follower=follower, fields={"Event": "TEMPLATESENDJOBFINISH"})
    finally:
        delivery_reported.disconnect(listen)
    assert heard == [
        {"event": "TEMPLATESENDJOBFINISH", "msg_id": "42", "status": "success", "delivered": True}
    ]


def _mass_sent(fake_wechat, capture):
    FollowerTag.objects.create(name="会计", wechat_tag_id=7)
    broadcast = broadcasts.broadcast_create(
        text="群发", audience="tag", tag_name="会计", use_mass_send=True
    )
    with capture(execute=True):
        broadcasts.broadcast_start(broadcast_id=broadcast.pk)
    broadcast.refresh_from_db()
    return broadcast


def test_mass_send_goes_to_wechat_by_tag(fake_wechat, django_capture_on_commit_callbacks):
    broadcast = _mass_sent(fake_wechat, django_capture_on_commit_callbacks)
    assert broadcast.status == "done" and broadcast.mass_msg_id
    [call] = fake_wechat.calls(MASS)
    assert call.body["filter"] == {"is_to_all": False, "tag_id": 7}
    assert call.body["clientmsgid"] == f"broadcast:{broadcast.pk}"
    assert not Notice.objects.exists()


@pytest.mark.parametrize(
    ("status", "counts", "expected_status", "expected_error"),
    [
        ("sendsuccess", ("100", "100", "0"), "done", ""),
        (
            "sendsuccess",
            ("100", "97", "3"),
            "done",
            "WeChat mass-send report: sendsuccess; sent 97 of 100, 3 failed",
        ),
        (
            "err(20013)",
            ("100", "0", "0"),
            "failed",
            "WeChat mass-send report: err(20013); sent 0 of 100, 0 failed",
        ),
    ],
)
def test_mass_send_report_is_recorded_on_the_broadcast(
    fake_wechat,
    wechat,
    django_capture_on_commit_callbacks,
    status,
    counts,
    expected_status,
    expected_error,
):
    broadcast = _mass_sent(fake_wechat, django_capture_on_commit_callbacks)
    total, sent, errors = counts
    # WeChat sends MASSSENDJOBFINISH from the account's mass-send helper, not a follower.
    wechat.event(
        "mphelper",
        "MASSSENDJOBFINISH",
        MsgID=broadcast.mass_msg_id,
        Status=status,
        TotalCount=total,
        FilterCount=total,
        SentCount=sent,
        ErrorCount=errors,
    )
    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.error_message) == (expected_status, expected_error)
