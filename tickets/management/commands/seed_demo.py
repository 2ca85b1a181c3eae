"""Generate realistic demo tickets (and their conversations) in bulk, for demos and benchmarks."""

import random
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from tqdm import tqdm

from tickets.models import Priority, Queue, Ticket, TicketInvoiceNumber, TicketMessage

USER_LINES = [
    "发票查不到，显示查无此票",
    "刚开的发票多久能查到",
    "发票号码 24117000000212341234，开票日期 {date}",
    "报销系统说发票不存在",
    "数电票没有发票代码怎么查验",
    "还是不行",
    "好的，谢谢",
]
BOT_LINES = [
    "新开具的发票一般次日可查验，请24小时后再试。",
    "请核对发票号码、开票日期和价税合计后重新查验。",
]
AGENT_LINES = [
    "您好，我是客服，正在为您核查。",
    "经核查，发票尚未上传，请联系开票方。",
    "已为您处理，请再查验一次。",
]
STATUS_WEIGHTS = [("closed", 70), ("resolved", 10), ("open", 10), ("pending", 5), ("new", 5)]


class Command(BaseCommand):
    help = "Create N demo tickets with N×messages conversation entries (bulk, with progress)."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=1000)
        parser.add_argument("--messages", type=int, default=10, help="per ticket")
        parser.add_argument("--batch", type=int, default=2000)
        parser.add_argument("--days", type=int, default=365, help="spread over the last N days")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, tickets: int, messages: int, batch: int, days: int, seed: int, **kw):
        rng = random.Random(seed)
        queues = list(Queue.objects.all())
        statuses = [s for s, _ in STATUS_WEIGHTS]
        weights = [w for _, w in STATUS_WEIGHTS]
        now = timezone.now()
        start = (Ticket.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        bar = tqdm(total=tickets, unit="ticket", disable=kw.get("verbosity", 1) == 0)
        made = 0
        while made < tickets:
            size = min(batch, tickets - made)
            rows = []
            for k in range(size):
                i = start + made + k
                created = now - timedelta(seconds=rng.randrange(days * 86400))
                status = rng.choices(statuses, weights)[0]
                responded = status != "new"
                queue = rng.choice(queues)
                rows.append(
                    Ticket(
                        number=f"D{timezone.localtime(created):%Y%m%d}-{i:07d}",
                        requester_ref=f"demo-o{i:07d}",
                        requester_name=f"用户{i % 9973}",
                        queue=queue,
                        status=status,
                        priority=rng.choice(Priority.values),
                        subject=rng.choice(USER_LINES[:5]).format(date="2025-11-20"),
                        category=rng.choice(queue.categories or ["human_agent"]),
                        created_at=created,
                        updated_at=created + timedelta(hours=2),
                        first_response_at=created + timedelta(minutes=rng.randrange(5, 240))
                        if responded
                        else None,
                        resolved_at=created + timedelta(days=1)
                        if status in ("resolved", "closed")
                        else None,
                        closed_at=created + timedelta(days=8) if status == "closed" else None,
                        first_response_due=created + timedelta(hours=1),
                        resolution_due=created + timedelta(days=2),
                        invoice_numbers=f"2411700000{i:010d}",
                        invoices=[{"number": f"2411700000{i:010d}", "result": "not_found"}],
                        satisfaction=rng.randint(1, 5) if status == "closed" else None,
                    )
                )
            with transaction.atomic():
                created_rows = Ticket.objects.bulk_create(rows)
                TicketMessage.objects.bulk_create(
                    [
                        self._message(rng, ticket, n)
                        for ticket in created_rows
                        for n in range(messages)
                    ],
                    batch_size=5000,
                )
                TicketInvoiceNumber.objects.bulk_create(
                    [TicketInvoiceNumber(ticket=t, number=t.invoice_numbers) for t in created_rows]
                )
            made += size
            bar.update(size)
        bar.close()
        # Demo numbers use a D prefix: real numbering (T…) and its counters are untouched.
        self.stdout.write(self.style.SUCCESS(f"{made} tickets, {made * messages} messages"))

    @staticmethod
    def _message(rng, ticket, n):
        kind = ["user", "bot", "user", "agent"][n % 4] if n else "user"
        text = rng.choice(
            {"user": USER_LINES, "bot": BOT_LINES, "agent": AGENT_LINES}[kind]
        ).format(date="2025-11-20")
        return TicketMessage(
            ticket=ticket,
            author_kind=kind,
            text=text,
            created_at=ticket.created_at + timedelta(minutes=7 * n),
        )
