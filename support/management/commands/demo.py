"""Set up the embedded demo (migrate, demo agent, demo data) and run the server."""

import datetime
import io
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from bot.channels.wechat.inbound import inbound_message
from bot.conversations.models import Follower
from bot.dialog.receive import message_receive
from bot.invoices.ledger import ledger_invoice_upsert, ledger_row_parse
from bot.invoices.models import LedgerInvoice
from bot.simulator.envelope import message_fields
from support.roles import Role
from tickets.models import AgentProfile, Queue, Ticket
from tickets.services import ticket_reply_send

DEMO_USERNAME = "agent"
DEMO_SUPERVISOR = "supervisor"
DEMO_PASSWORD = "fapiao-demo"  # noqa: S105 - printed on screen; demo (DEBUG) only
# A morning at the desk: "{invoice}" is replaced by the first demo invoice's line.
DEMO_CONVERSATIONS = {
    "sim-demo-zhang": ["你好", "发票查不到怎么办", "{invoice}", "转人工"],
    "sim-demo-li": ["数电票没有发票代码怎么查验", "转人工"],
    "sim-demo-wang": ["发票一直查不到，转人工"],
    "sim-demo-zhao": ["我要投诉，开票系统一上午都登不上"],
    "sim-demo-qian": ["你好", "怎么查验发票"],
}
# What the agent already did this morning: (openid, reply, status after it).
DEMO_AGENT_WORK = [
    ("sim-demo-li", "您好，数电票用发票号码、开票日期和价税合计即可查验。", "resolved"),
    ("sim-demo-wang", "您好，请发一张发票照片，我帮您核对。", "pending"),
    (
        "sim-demo-zhang",
        "您好，这张数电票开票方还没有上传，我们已联系开票方尽快上传，上传后会通知您。",
        "pending",
    ),
]

# After the agent asked for a photo, this follower sends one of the second demo invoice:
# it joins the open ticket (thumbnail and invoice card) while the bot stays back.
DEMO_PHOTO_SENDER = "sim-demo-wang"
DEMO_PHOTO_MEDIA_ID = "sim-demo-photo-wang"

# Invoices "issued through the operator's platform", to try in the simulator: one in
# the tax system, one the seller has not uploaded yet, one voided. Dates are relative so
# the demo never hits the "issued today" or "older than 5 years" rules.
DEMO_INVOICES = [
    ("", "26117000000012345678", 3, "1000.00", "1060.00", "", "valid", True),
    ("011002500111", "04718263", 2, "500.00", "530.00", "12345678901234567890", "valid", False),
    ("1100251130", "00112233", 10, "2000.00", "2260.00", "", "voided", True),
]


class Command(BaseCommand):
    help = "Prepare the embedded demo on first run and start the development server."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-server", action="store_true", help="set up only")

    def handle(self, *args, addrport: str, no_server: bool, **options):
        if not settings.DEBUG:
            raise CommandError("the demo runs with DJANGO_DEBUG=1 only")
        call_command("migrate", interactive=False, verbosity=0)
        self._demo_agent()
        self._demo_invoices()
        self._demo_conversations()
        host = addrport if ":" in addrport else f"127.0.0.1:{addrport}"
        base = f"http://{host.replace('0.0.0.0', '127.0.0.1')}"  # noqa: S104
        self.stdout.write(
            self.style.SUCCESS("\n发票助手 demo is ready.\n")
            + f"  WeChat simulator : {base}/simulator/\n"
            + f"  Agent admin      : {base}/admin/   (user {DEMO_USERNAME} / {DEMO_PASSWORD})\n"
            + f"  Supervisor       : {base}/admin/   (user {DEMO_SUPERVISOR} / {DEMO_PASSWORD})\n"
            + f"  API docs         : {base}/api/docs/\n"
            + f"  Health           : {base}/healthz\n"
            + "\nTry in the simulator: 发票查不到怎么办 · 转人工 · 我的工单 · or an invoice:\n"
            + "".join(f"  {line}\n" for line in self._invoice_examples())
        )
        if not no_server:
            call_command("runserver", addrport, use_reloader=False)

    def _demo_agent(self) -> None:
        """An agent of every queue (客服, not a superuser) and a supervisor (主管)."""
        for username, role, supervisor, name in (
            (DEMO_USERNAME, Role.AGENT, False, "小王"),
            (DEMO_SUPERVISOR, Role.SUPERVISOR, True, "李主管"),
        ):
            user_model = get_user_model()
            if user_model.objects.filter(username=username).exists():
                continue
            user = user_model.objects.create_user(
                username, f"{username}@example.invalid", DEMO_PASSWORD, is_staff=True
            )
            user.groups.add(Group.objects.get(name=role))
            # On duty in every queue, so the demo's escalations are assigned to the agent.
            profile = AgentProfile.objects.create(
                user=user, on_duty=not supervisor, is_supervisor=supervisor, display_name=name
            )
            profile.queues.set(Queue.objects.all())
            self.stdout.write(f"created demo login {username} ({role})")

    def _demo_invoices(self) -> None:
        if LedgerInvoice.objects.filter(seller_name="演示商贸有限公司").exists():
            return
        today = datetime.date.today()
        for code, number, days_ago, amount, total, check, status, uploaded in DEMO_INVOICES:
            issued = today - datetime.timedelta(days=days_ago)
            row = {
                "invoice_code": code,
                "invoice_number": number,
                "issue_date": issued.isoformat(),
                "amount": amount,
                "total": total,
                "check_code": check,
                "seller_name": "演示商贸有限公司",
                "seller_tax_id": "91110108MA01ABCD2X",
                "buyer_name": "演示科技有限公司",
                "status": status,
                "uploaded_at": f"{issued.isoformat()}T18:00:00+08:00" if uploaded else "",
            }
            ledger_invoice_upsert(data=ledger_row_parse(row))
        self.stdout.write(f"created {len(DEMO_INVOICES)} demo invoices in the ledger")

    def _invoice_examples(self) -> list[str]:
        lines = []
        for code, number, _days, amount, total, check, _status, _uploaded in DEMO_INVOICES:
            invoice = LedgerInvoice.objects.filter(invoice_code=code, invoice_number=number).first()
            if invoice is None:
                continue
            date = invoice.issue_date.strftime("%Y年%m月%d日")
            if not code:
                lines.append(f"数电票 号码{number} 日期{date} 价税合计{total}")
            elif check:
                lines.append(f"代码{code} 号码{number} 日期{date} 校验码后6位{check[-6:]}")
            else:
                lines.append(f"专票 代码{code} 号码{number} 日期{date} 不含税金额{amount}")
        return lines

    def _demo_conversations(self) -> None:
        if Follower.objects.filter(openid__startswith="sim-demo-").exists():
            return
        examples = self._invoice_examples()
        for openid, texts in DEMO_CONVERSATIONS.items():
            fields = message_fields(openid=openid, msg_type="event", Event="subscribe")
            message_receive(inbound=inbound_message(fields=fields, raw=""))
            for text in texts:
                text = text.replace("{invoice}", examples[0] if examples else "")
                fields = message_fields(openid=openid, msg_type="text", Content=text)
                message_receive(inbound=inbound_message(fields=fields, raw=""))
        agent = get_user_model().objects.get(username=DEMO_USERNAME)
        for openid, reply, status in DEMO_AGENT_WORK:
            ticket = Ticket.objects.filter(requester_ref=openid).order_by("-id").first()
            if ticket is not None and ticket.is_active:
                ticket_reply_send(ticket=ticket, author=agent, text=reply, status=status)
        self._demo_photo()
        self.stdout.write(f"created {len(DEMO_CONVERSATIONS)} demo followers with conversations")

    def _demo_photo(self) -> None:
        """The photo the agent asked for: an invoice's QR code on paper, as the simulator
        stores an upload (MEDIA_ROOT/simulator/<media id>), sent through the receive path."""
        code, number, days_ago, amount, _total, check, _status, _uploaded = DEMO_INVOICES[1]
        issued = datetime.date.today() - datetime.timedelta(days=days_ago)
        payload = f"01,10,{code},{number},{amount},{issued:%Y%m%d},{check},BE2D"
        path = Path(settings.MEDIA_ROOT) / "simulator" / DEMO_PHOTO_MEDIA_ID
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_invoice_photo(payload))
        fields = message_fields(
            openid=DEMO_PHOTO_SENDER,
            msg_type="image",
            MediaId=DEMO_PHOTO_MEDIA_ID,
            PicUrl=f"http://127.0.0.1/simulator/media/{DEMO_PHOTO_MEDIA_ID}",
        )
        message_receive(inbound=inbound_message(fields=fields, raw=""))


def _invoice_photo(payload: str) -> bytes:
    """A JPEG like a phone's photo of an invoice: paper, ruled lines, the QR top left."""
    import numpy as np
    import zxingcpp
    from PIL import Image, ImageDraw

    qr = Image.fromarray(
        np.array(
            zxingcpp.write_barcode_to_image(
                zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode), scale=6
            )
        )
    ).convert("RGB")
    paper = Image.new("RGB", (1080, 720), (246, 242, 232))
    draw = ImageDraw.Draw(paper)
    draw.rectangle((20, 20, 1060, 700), outline=(150, 90, 60), width=3)  # the invoice's frame
    for y in range(300, 680, 48):
        draw.line((60, y, 1020, y), fill=(170, 120, 90), width=2)
    paper.paste(qr, (60, 50))
    out = io.BytesIO()
    paper.save(out, format="JPEG", quality=88)
    return out.getvalue()
