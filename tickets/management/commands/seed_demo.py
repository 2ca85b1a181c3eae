"""Generate realistic demo tickets with their conversations and audit trail, fast.

PostgreSQL: rows stream in with COPY (psycopg `cursor.copy()`), a batch per transaction;
~10 messages and ~5 events per ticket. Other databases (SQLite): `bulk_create`.
Demo numbers use a `D` prefix so the real numbering (`T…`, `TicketCounter`) is untouched.
"""

import hashlib
import random
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from tickets import business_hours
from tickets.management.commands._demo_vocabulary import (
    AGENT_REPLIES,
    BOT_ANSWERS,
    CATEGORIES,
    DEMO_AGENTS,
    NICK_GIVEN,
    NICK_SURNAMES,
    NICK_WORDS,
    NO_INVOICE,
    NOTES,
    OPENERS,
    PRIORITIES,
    RESULTS,
    STATUS_BY_AGE,
    TAGS,
    USER_CLOSERS,
    USER_DETAILS,
    USER_FOLLOWUPS,
)
from tickets.management.commands._demo_writers import CopyWriter, OrmWriter
from tickets.models import (
    AgentProfile,
    Queue,
    SlaTarget,
    Ticket,
    TicketEvent,
    TicketInvoiceNumber,
    TicketMessage,
)


class Command(BaseCommand):
    help = "Create N realistic demo tickets (D-numbers) with conversations and audit trail."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=1000)
        parser.add_argument("--messages", type=int, default=10, help="per ticket")
        parser.add_argument("--batch", type=int, default=5000, help="tickets per transaction")
        parser.add_argument("--days", type=int, default=365, help="spread over the last N days")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, tickets, messages, batch, days, seed, verbosity=1, **kw):
        if tickets < 0 or messages < 1 or batch < 1 or days < 1:
            raise CommandError("--tickets ≥ 0, --messages ≥ 1, --batch ≥ 1, --days ≥ 1")
        queues = list(Queue.objects.all())
        if not queues:
            raise CommandError("no queues: run migrate first")
        gen = Generator(
            rng=random.Random(seed),
            queues=queues,
            agents=demo_agents_ensure(queues=queues),
            targets=_targets(),
            now=timezone.now(),
            days=days,
            messages=messages,
        )
        writer = CopyWriter() if connection.vendor == "postgresql" else OrmWriter()
        created = gen.created_times(tickets)
        bar = tqdm(total=tickets, unit="ticket", disable=verbosity == 0, smoothing=0.1)
        totals = [0, 0, 0]
        for offset in range(0, tickets, batch):
            chunk = created[offset : offset + batch]
            with transaction.atomic():
                ids = writer.ids(len(chunk))
                rows = [gen.ticket(pk, at) for pk, at in zip(ids, chunk, strict=True)]
                counts = writer.write(rows)
            totals = [a + b for a, b in zip(totals, counts, strict=True)]
            bar.update(len(chunk))
        bar.close()
        if connection.vendor == "postgresql" and tickets:
            with connection.cursor() as cursor:  # fresh statistics, or the planner guesses
                for model in (Ticket, TicketMessage, TicketEvent, TicketInvoiceNumber):
                    cursor.execute(f"ANALYZE {model._meta.db_table}")
        self.stdout.write(
            self.style.SUCCESS(f"{tickets} tickets, {totals[0]} messages, {totals[1]} events")
        )


def demo_agents_ensure(*, queues: list[Queue]) -> dict[int, list[int]]:
    """Off-duty demo agents per queue (the real round robin skips them): queue id → user ids."""
    users = get_user_model()
    out: dict[int, list[int]] = {}
    by_slug = {q.slug: q for q in queues}
    for slug, count in DEMO_AGENTS.items():
        queue = by_slug.get(slug)
        if queue is None:
            continue
        for k in range(1, count + 1):
            user, made = users.objects.get_or_create(
                username=f"demo-{slug}-{k:02d}", defaults={"is_staff": True}
            )
            if made:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            profile, _ = AgentProfile.objects.get_or_create(user=user)
            profile.queues.add(queue)
            out.setdefault(queue.pk, []).append(user.pk)
    fallback = [pk for pks in out.values() for pk in pks]
    return {q.pk: out.get(q.pk) or fallback for q in queues}


def _targets() -> dict[tuple[int, str], tuple[int, int]]:
    return {
        (t.queue_id, t.priority): (t.first_response_minutes, t.resolution_minutes)
        for t in SlaTarget.objects.all()
    }


def _openid(key: str) -> tuple[str, str]:
    """A WeChat-like openid (28 chars, recognisably demo) and a nickname, both from `key`."""
    digest = hashlib.blake2b(key.encode(), digest_size=18).digest()
    chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    value = int.from_bytes(digest, "big")
    tail = "".join(chars[(value >> (6 * k)) & 63] for k in range(23))
    a, b, c = digest[0], digest[1], digest[2]
    if a % 3:
        nick = NICK_SURNAMES[b % len(NICK_SURNAMES)] + NICK_GIVEN[c % len(NICK_GIVEN)]
    else:
        nick = NICK_WORDS[b % len(NICK_WORDS)] + NICK_SURNAMES[c % len(NICK_SURNAMES)]
    return "oDEMO" + tail, nick


class Generator:
    """Turns (id, creation time) into a ticket row with its messages, events and invoices."""

    def __init__(self, *, rng, queues, agents, targets, now, days, messages):
        self.rng, self.agents, self.targets = rng, agents, targets
        self.now, self.days, self.messages = now, days, messages
        default = next((q for q in queues if q.is_default), queues[0])
        self.queue_of = {c: default for c in CATEGORIES}
        for queue in queues:
            for category in queue.categories or []:
                self.queue_of[category] = queue
        self.categories, self.cat_w = list(CATEGORIES), _cum(CATEGORIES.values())
        self.priorities, self.prio_w = [p for p, _ in PRIORITIES], _cum(w for _, w in PRIORITIES)
        self.sched = business_hours.schedule()
        self.tz = self.sched.tz
        self.repeaters = 0
        self.slug = {q.pk: q.slug for q in queues}
        user_ids = {pk for pks in agents.values() for pk in pks}
        self.username = dict(
            get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username")
        )

    def created_times(self, count: int) -> list[datetime]:
        """Ascending creation times: more on working days and hours, growing over the year."""
        start = self.now - timedelta(days=self.days)
        hours = self.days * 24
        weights = []
        for h in range(hours):
            local = (start + timedelta(hours=h)).astimezone(self.tz)
            busy = 1.0 if 9 <= local.hour < 18 else (0.25 if 7 <= local.hour < 23 else 0.04)
            weekend = 0.3 if local.weekday() >= 5 else 1.0
            weights.append(busy * weekend * (0.7 + 0.6 * h / hours))
        slots = sorted(self.rng.choices(range(hours), cum_weights=_cum(weights), k=count))
        self.repeaters = max(count // 12, 1)
        out = [start + timedelta(hours=s, seconds=self.rng.randrange(3600)) for s in slots]
        return [min(t, self.now - timedelta(seconds=1)) for t in out]

    def _due(self, at: datetime, minutes: int) -> datetime:
        """Business-time deadline on the weekly schedule (holidays are ignored for speed)."""
        sched, local = self.sched, at.astimezone(self.tz)
        start = {"hour": sched.start.hour, "minute": sched.start.minute, "second": 0}
        end = {"hour": sched.end.hour, "minute": sched.end.minute, "second": 0}
        while minutes > 0:
            if local.weekday() not in sched.weekdays or local.time() >= sched.end:
                local = (local + timedelta(days=1)).replace(**start, microsecond=0)
                continue
            if local.time() < sched.start:
                local = local.replace(**start, microsecond=0)
            step = min((local.replace(**end) - local).total_seconds() / 60, minutes)
            local += timedelta(minutes=step)
            minutes -= step
        return local

    def ticket(self, pk: int, created: datetime) -> dict:
        rng, now = self.rng, self.now
        category = self.categories[_pick(rng, self.cat_w)]
        queue = self.queue_of[category]
        priority = "high" if category == "complaint" else self.priorities[_pick(rng, self.prio_w)]
        age = (now - created).total_seconds() / 86400
        fr_min, res_min = self.targets.get((queue.pk, priority), (60, 1080))
        t = {
            "id": pk, "number": f"D{created.astimezone(self.tz):%Y%m%d}-{pk:07d}",
            "queue_id": queue.pk, "priority": priority, "category": category,
            "status": _weighted(rng, next(w for limit, w in STATUS_BY_AGE if age < limit)),
            "assignee_id": None, "tags": [], "created_at": created, "first_response_at": None,
            "resolved_at": None, "closed_at": None, "sla_paused_at": None,
            "first_response_due": self._due(created, fr_min),
            "resolution_due": self._due(created, res_min), "sla_paused_minutes": 0,
            "first_response_breached_at": None, "resolution_breached_at": None,
            "satisfaction": None, "satisfaction_at": None, "merged_into_id": None,
            "escalation_reason": "complaint" if category == "complaint" else _weighted(
                rng, [("asked", 60), ("missed", 20), ("diagnosis", 15), ("watch_expired", 5)]
            ),
        }  # fmt: skip
        self._timeline(t)
        # Active tickets get a requester of their own (one open ticket per requester);
        # some closed ones come back from a pool of repeat requesters.
        active = t["status"] in ("new", "open", "pending")
        key = f"r{rng.randrange(self.repeaters)}" if not active and rng.random() < 0.3 else f"u{pk}"
        t["requester_ref"], nick = _openid(key)
        t["requester_name"] = nick if rng.random() < 0.9 else ""
        t["invoices"] = self._invoices(created, category)
        t["invoice_numbers"] = " ".join(inv["number"] for inv in t["invoices"])
        inv = t["invoices"][0] if t["invoices"] else {"number": "", "date": "", "amount": ""}
        opener = rng.choice(OPENERS[category]).format(n=inv["number"], d=inv["date"], a="")
        t["subject"] = opener[:200]
        if rng.random() < 0.15:
            t["tags"] = rng.sample(TAGS, rng.choice((1, 1, 2)))
        if t["status"] != "new" or rng.random() < 0.3:
            t["assignee_id"] = rng.choice(self.agents[queue.pk])
        return {"ticket": t, **self._conversation(t, opener, inv)}

    def _timeline(self, t: dict) -> None:
        """Response, resolution and closing times; what has not happened by now sets the status."""
        rng, now, created = self.rng, self.now, t["created_at"]
        fr_due, res_due = t["first_response_due"], t["resolution_due"]
        if t["status"] != "new":
            frac = rng.lognormvariate(-1.0, 0.65)  # about 6 % miss the first-response target
            first = created + frac * (fr_due - created)
            if first < now:
                t["first_response_at"] = first
            else:
                t["status"] = "new"
        if t["status"] in ("resolved", "closed"):
            frac = rng.lognormvariate(-1.2, 0.8)
            end = max(created + frac * (res_due - created), t["first_response_at"])
            resolved = end + timedelta(minutes=rng.randrange(5, 90))
            if resolved < now:
                t["resolved_at"] = t["sla_paused_at"] = resolved
            else:
                t["status"] = "open"
        if t["status"] == "closed":
            confirmed = rng.random() < 0.6  # else closed by the 7-day housekeeping
            wait = timedelta(hours=rng.randrange(1, 48)) if confirmed else timedelta(days=7)
            if t["resolved_at"] + wait < now:
                t["closed_at"] = t["resolved_at"] + wait
            else:
                t["status"] = "resolved"
        if t["resolved_at"] and rng.random() < 0.4:
            rated = t["resolved_at"] + timedelta(minutes=rng.randrange(1, 600))
            if rated < min(now, t["closed_at"] or now):
                t["satisfaction_at"] = rated
                t["satisfaction"] = _weighted(rng, [(5, 50), (4, 25), (3, 12), (2, 6), (1, 7)])
        if t["status"] == "pending":
            t["sla_paused_at"] = t["first_response_at"] + (now - t["first_response_at"]) / 3
        # Breaches as the beat task records them: the due time passed without the event.
        if (t["first_response_at"] or now) > fr_due:
            t["first_response_breached_at"] = fr_due
        if (t["resolved_at"] or t["sla_paused_at"] or now) > res_due:
            t["resolution_breached_at"] = res_due

    def _invoices(self, created: datetime, category: str) -> list[dict]:
        rng = self.rng
        if category in NO_INVOICE or rng.random() < 0.12:
            return []
        out = []
        for _ in range(2 if rng.random() < 0.08 else 1):
            day = created - timedelta(days=rng.randrange(0, 40))
            amount = f"{rng.lognormvariate(6.5, 1.3):.2f}"
            region = rng.choices(["11", "31", "44", "12", "32"], cum_weights=[85, 90, 94, 97, 100])
            if rng.random() < 0.8:
                number = f"{day:%y}{region[0]}7{rng.randrange(10**15):015d}"
                code, kind = "", rng.choice(["数电普票", "数电普票", "数电专票"])
            else:
                number, kind = f"{rng.randrange(10**8):08d}", "增值税电子普通发票"
                code = f"0{region[0]}00{day:%y}00111"
            result = rng.choice(RESULTS)
            out.append({
                "number": number, "code": code, "kind": kind, "date": f"{day:%Y-%m-%d}",
                "amount": amount, "result": result,
                "diagnosis": {"cause": "开票方尚未上传" if result == "查无此票" else result,
                              "advice": "请联系开票方确认上传，次日再查验"},
                "history": [{"at": (created - timedelta(minutes=3)).isoformat(),
                             "result": result}],
            })  # fmt: skip
        return out

    def _conversation(self, t: dict, opener: str, inv: dict) -> dict:
        """The bot conversation before the escalation, then agents and requester, in order."""
        rng, pk, created = self.rng, t["id"], t["created_at"]
        fmt = {"n": inv["number"] or "", "d": inv["date"] or "", "a": inv["amount"] or "100.00"}
        lines = [
            ("user", opener, created - timedelta(minutes=4)),
            ("bot", rng.choice(BOT_ANSWERS), created - timedelta(minutes=4)),
            ("user", rng.choice(USER_FOLLOWUPS), created - timedelta(minutes=1)),
            ("bot", f"已为您转接人工客服，工单号：{t['number']}。", created),
        ]
        replied = t["first_response_at"] is not None
        end = t["resolved_at"] or self.now
        start = t["first_response_at"] or created
        step = (end - start) / max(self.messages - len(lines), 1)
        n = 0
        while len(lines) < self.messages:
            at = start + step * n
            if replied and n % 3 == 0:
                lines.append(("agent", rng.choice(AGENT_REPLIES).format(**fmt), at))
            elif replied and n % 7 == 5:
                lines.append(("note", rng.choice(NOTES), at))
            elif t["resolved_at"] and len(lines) == self.messages - 1:
                lines.append(("user", rng.choice(USER_CLOSERS), at))
            else:
                lines.append(("user", rng.choice(USER_DETAILS).format(**fmt), at))
            n += 1
        lines = lines[: self.messages]
        agent = t["assignee_id"]
        msgs = [(pk, k, agent if k in ("agent", "note") else None, x, a) for k, x, a in lines]
        last = {k: a for k, _, a in lines}
        t["last_requester_message_at"] = last.get("user")
        t["last_agent_message_at"] = last.get("agent")
        t["updated_at"] = max(a for _, _, a in lines)
        for key in ("closed_at", "satisfaction_at"):
            if t[key]:
                t["updated_at"] = max(t["updated_at"], t[key])
        return {"messages": msgs, "events": self._events(t)}

    def _events(self, t: dict) -> list[tuple]:
        pk, created, agent = t["id"], t["created_at"], t["assignee_id"]
        slug, who = self.slug[t["queue_id"]], self.username.get(agent)
        ev = [(pk, None, "created", None, slug, t["escalation_reason"], created)]
        if agent:
            ev.append((pk, None, "assigned", None, who, "", created + timedelta(seconds=2)))
        if t["first_response_at"]:
            ev.append((pk, agent, "status", "new", "open", "", t["first_response_at"]))
            ev.append((pk, agent, "first_response", None, None, "", t["first_response_at"]))
        for key in ("first_response_breached_at", "resolution_breached_at"):
            if t[key]:
                ev.append((pk, None, "sla_breached", None, key[:-12], "", t[key]))
        if t["status"] == "pending":
            ev.append((pk, agent, "status", "open", "pending", "", t["sla_paused_at"]))
        if t["resolved_at"]:
            ev.append((pk, agent, "status", "open", "resolved", "", t["resolved_at"]))
        if t["satisfaction"]:
            ev.append((pk, None, "rated", None, t["satisfaction"], "", t["satisfaction_at"]))
        if t["closed_at"]:
            ev.append((pk, None, "status", "resolved", "closed", "", t["closed_at"]))
        return ev


def _cum(weights) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _pick(rng: random.Random, cum: list[float]) -> int:
    x = rng.random() * cum[-1]
    return next(i for i, c in enumerate(cum) if x < c)


def _weighted(rng: random.Random, pairs):
    return pairs[_pick(rng, _cum(w for _, w in pairs))][0]
