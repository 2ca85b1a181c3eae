"""Sending one claimed chunk of notices: the channel per notice, the calls, the outcomes.

No database writes here: `services` claims the rows before and settles them after.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from bot.channels.wechat.client import Errcode, WeChatApiError, wechat_client
from bot.notices import channels
from bot.notices.models import Notice

logger = logging.getLogger(__name__)

# Customer-service refusals that the notice's template (or subscribe) message still gets past:
# outside the 48-hour window, or past the 5 messages WeChat allows within it.
_CS_CLOSED = {Errcode.OUTSIDE_REPLY_WINDOW, Errcode.OUT_OF_CUSTOMER_SERVICE_QUOTA}


@dataclass
class Result:
    """What happened to one notice; `services` writes it (status, channel, error)."""

    notice: Notice
    status: str
    channel: str = ""
    msg_id: str = ""
    template_id: str = ""
    payload: dict | None = None
    error: WeChatApiError | None = None


def _late_channel(choice) -> str:
    """The channel outside the 48-hour window: the kind's template or subscribe message."""
    return Notice.Channel.SUBSCRIBE if choice.is_subscribe else Notice.Channel.TEMPLATE


def _send_one(client, notice: Notice, *, now: datetime, templates: dict) -> Result:
    follower = notice.follower
    if not follower.subscribed:
        return Result(notice, Notice.Status.FAILED, error=WeChatApiError(43004, "unsubscribed"))
    choice = channels.template_for(notice.kind, templates)
    use_cs = channels.within_service_window(follower.last_interaction_at, now=now)
    if not use_cs and choice is None:
        error = WeChatApiError(None, "no template configured for this notice kind")
        return Result(notice, Notice.Status.FAILED, error=error)
    if client is None:  # embedded mode: the simulator shows it
        channel = Notice.Channel.CUSTOMER_SERVICE if use_cs else _late_channel(choice)
        return Result(notice, Notice.Status.SIMULATED, channel=channel)
    try:
        if use_cs:
            try:
                msg_id = channels.send_text(client, openid=follower.openid, notice=notice)
                return Result(notice, Notice.Status.SENT, Notice.Channel.CUSTOMER_SERVICE, msg_id)
            except WeChatApiError as exc:
                if exc.errcode not in _CS_CLOSED or choice is None:
                    raise
        if choice.is_subscribe:
            return _send_subscribe(client, notice, choice, now=now)
        data = channels.template_data(notice, choice, now=now)
        msg_id = channels.send_template(
            client, openid=follower.openid, notice=notice, choice=choice, data=data
        )
        return Result(
            notice,
            Notice.Status.SENT,
            Notice.Channel.TEMPLATE,
            msg_id,
            template_id=choice.template_id,
            payload={"data": data, "url": notice.url},
        )
    except WeChatApiError as exc:
        channel = Notice.Channel.CUSTOMER_SERVICE if use_cs else _late_channel(choice)
        if exc.transient and notice.attempts < settings.NOTICES_MAX_ATTEMPTS:
            return Result(notice, Notice.Status.PENDING, channel, error=exc)
        return Result(notice, Notice.Status.FAILED, channel, error=exc)


def _send_subscribe(client, notice: Notice, choice, *, now: datetime) -> Result:
    data = channels.subscribe_data(notice, choice, now=now)
    try:
        msg_id = channels.send_subscribe(
            client, openid=notice.follower.openid, notice=notice, choice=choice, data=data
        )
    except WeChatApiError as exc:
        if exc.errcode == Errcode.SUBSCRIBE_REFUSED:
            raise WeChatApiError(exc.errcode, f"{channels.REFUSED_TEXT} ({exc.errmsg})") from exc
        raise
    payload = {"data": data, "page": notice.url or choice.page, "subscribe": True}
    return Result(
        notice,
        Notice.Status.SENT,
        Notice.Channel.SUBSCRIBE,
        msg_id,
        template_id=choice.template_id,
        payload=payload,
    )


def _send_stripe(client, notices: list[Notice], *, now: datetime, templates: dict) -> list:
    results = []
    for notice in notices:
        try:
            results.append(_send_one(client, notice, now=now, templates=templates))
        except Exception as exc:  # a bug must not strand the rest of the chunk
            logger.exception("notice %s: unexpected delivery error", notice.pk)
            status = (
                Notice.Status.PENDING
                if notice.attempts < settings.NOTICES_MAX_ATTEMPTS
                else Notice.Status.FAILED
            )
            error = WeChatApiError(None, f"internal: {exc.__class__.__name__}")
            results.append(Result(notice, status, error=error))
    return results


def send_all(notices: list[Notice], *, configured: bool, now: datetime, templates: dict):
    """Send a claimed chunk; several HTTP calls in flight (WeChat's latency dominates)."""
    if not configured:
        return _send_stripe(None, notices, now=now, templates=templates)
    threads = max(1, min(settings.NOTICES_SEND_THREADS, len(notices)))
    # A client per stripe: each thread reads the shared token once and keeps it.
    if threads == 1:
        return _send_stripe(wechat_client(), notices, now=now, templates=templates)
    stripes = [notices[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        done = pool.map(
            lambda stripe: _send_stripe(wechat_client(), stripe, now=now, templates=templates),
            stripes,
        )
        return [result for stripe in done for result in stripe]
