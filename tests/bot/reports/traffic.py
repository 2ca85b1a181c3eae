"""Known traffic through /wechat/, and the figures it must produce (docs/reports.md)."""

import datetime
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from bot.invoices.models import LedgerInvoice
from tickets import services
from tickets.models import Ticket

DIGITAL = "24117000000212341234"  # Beijing 数电, in the ledger: valid
CODE = "011002400211"  # Beijing electronic ordinary, not in the ledger: not found
# One need (how to fill in an invoice's remarks field), worded four ways; the bot has no
# entry for it, so each is out of scope.
REMARKS = ["发票备注栏怎么填写", "备注栏要写什么", "发票备注怎么写", "发票的备注栏填什么内容"]


def say(wechat, openid: str, text: str) -> str:
    response = wechat.text(openid, text)
    assert response.status_code == 200
    reply = wechat.reply(response)
    return reply["Content"] if reply else ""


def cn(day: datetime.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def send(wechat, agent) -> dict:
    """Twelve conversations of seventeen follower messages; see EXPECTED."""
    issued = timezone.localdate() - datetime.timedelta(days=20)
    LedgerInvoice.objects.create(
        invoice_code="",
        invoice_number=DIGITAL,
        issue_date=issued,
        amount=Decimal("1000.00"),
        total=Decimal("1060.00"),
        seller_name="北京某某商贸有限公司",
        seller_tax_id="9144030071526726XG",
        status=LedgerInvoice.Status.VALID,
        uploaded_at=timezone.now() - datetime.timedelta(days=10),
    )
    replies = {
        # answered, then thanks: contained
        "answered": [
            say(wechat, "o-answered", "发票查不到怎么办"),
            say(wechat, "o-answered", "谢谢"),
        ],
        # answered and rated 有用 (unasked): contained
        "useful": [
            say(wechat, "o-useful", "今天开的发票为什么查验不了"),
            say(wechat, "o-useful", "有用"),
        ],
        # answered and rated 没用: not contained, and mined
        "useless": [
            say(wechat, "o-useless", "發票顯示已作廢😭怎麼辦？？"),
            say(wechat, "o-useless", "没用"),
        ],
        "human": [say(wechat, "o-human", "转人工")],  # escalated
        "complaint": [say(wechat, "o-complaint", "我要投诉你们客服，太慢了")],  # escalated
        "remarks": [say(wechat, f"o-remarks-{n}", text) for n, text in enumerate(REMARKS)],
        "suggestion": [say(wechat, "o-idea", "建议查验页面做得简单点")],  # the inbox; contained
        # a valid invoice: a check, no intent
        "valid": [say(wechat, "o-valid", f"数电票号码{DIGITAL}，{cn(issued)}，价税合计1,060.00元")],
        # an invoice not found: a check and a ticket (escalated)
        "not_found": [
            say(wechat, "o-notfound", f"代码{CODE} 号码12345678 {cn(issued)} 校验码567890")
        ],
    }
    human = Ticket.objects.get(requester_ref="o-human")
    complaint = Ticket.objects.get(requester_ref="o-complaint")
    for ticket in (human, complaint):
        services.ticket_status_change(ticket=ticket, status="resolved", actor=agent)
    replies["human"].append(say(wechat, "o-human", "5"))  # satisfaction, through the webhook
    replies["complaint"].append(say(wechat, "o-complaint", "3"))
    return replies


def ticket_times_set() -> None:
    """Known business-time durations (the traffic sits inside one working day)."""
    minutes = datetime.timedelta(minutes=1)
    human = Ticket.objects.filter(requester_ref="o-human")
    human.update(first_response_at=F("created_at") + 20 * minutes,
                 resolved_at=F("created_at") + 120 * minutes)  # fmt: skip
    complaint = Ticket.objects.filter(requester_ref="o-complaint")
    complaint.update(
        first_response_at=F("created_at") + 40 * minutes,
        resolved_at=F("created_at") + 300 * minutes,
        first_response_breached_at=F("first_response_due"),  # high priority: 30 minutes
    )
    Ticket.objects.filter(requester_ref="o-notfound").update(
        first_response_at=F("created_at") + 60 * minutes
    )


EXPECTED = {
    "conversations": 12,
    "messages_in": 17,
    "bot_answered": 4,  # answered, useful, useless, suggestion
    "escalated": 3,  # human, complaint, not_found
    "deflection_rate": 0.75,
    "containment_rate": 0.25,  # answered, useful, suggestion
    "unanswered": 4,  # the four remarks questions
    "top_intents": [
        {"intent": "oos", "count": 4},
        {"intent": "complaint", "count": 1},
        {"intent": "feedback", "count": 1},
        {"intent": "human_agent", "count": 1},
        {"intent": "invoice_not_found", "count": 1},
        {"intent": "sync_delay", "count": 1},
        {"intent": "thanks_bye", "count": 1},
        {"intent": "void_red_status", "count": 1},
    ],
    "invoice_checks": {"not_found": 1, "valid": 1},
    "csat_average": 4.0,
    "csat_responses": 2,
    "first_response_p50_seconds": 2400,  # 20, 40 and 60 minutes
    "resolution_p50_seconds": 7200,  # 2 and 5 hours
    "sla_first_response_met_rate": 0.6667,  # the complaint's 40 minutes missed its 30
}
