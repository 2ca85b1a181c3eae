"""The bot's side of the demo data: conversations, invoice checks, ratings, suggestions.

`manage.py seed_demo --tickets N` writes tickets (the help desk's side) with their
requesters' openids; this writes what WeChat would have brought around them, the way
the webhook stores it (bot.conversations.models.Message rows in and out): every ticket
gets the conversation that escalated it (opener, the bot's answer, 转人工, the hand-over),
and `deflected` times as many conversations the bot handled alone (answers, thanks,
out-of-scope questions in a few families of wordings, clarifications, offers of a
person, ratings, suggestions), plus invoice checks. Reply texts are the live knowledge
base's, so the reports classify them as they classify real traffic.

PostgreSQL: COPY in batches of a day (ids from the sequences); elsewhere bulk_create.
Call `seed(days=…, deflected=…)` after django.setup(), or run this file.
"""

from __future__ import annotations

if __name__ == "__main__":  # run as a script: Django first, then the models below
    import os
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "support.settings")
    import django

    django.setup()

import collections
import hashlib
import json
import random
from datetime import date, datetime, time, timedelta

from django.db import connection, models, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from bot.conversations.models import Follower, Message
from bot.feedback.models import AnswerRating, Suggestion
from bot.invoices.models import VerificationRecord
from bot.nlu.models import FaqEntry, ReplyTemplate
from bot.reports.definitions import tz
from tickets.models import Ticket

# Out-of-scope needs, each worded several ways: what mining should find.
OOS_FAMILIES = [
    ["发票备注栏怎么填写", "备注栏要写什么", "发票备注怎么写", "发票的备注栏填什么内容"],
    ["公积金怎么提取", "住房公积金提取需要什么材料", "我想提取公积金怎么办"],
    ["发票丢了怎么补", "纸质发票遗失怎么处理", "发票弄丢了还能补开吗"],
    ["电子发票怎么打印出来", "发票打印不清楚怎么办", "打印发票用什么纸"],
    ["开票人名字能改吗", "开票人写错了怎么办", "开票人怎么修改"],
    ["社保卡怎么补办", "社保断缴了怎么办"],
    ["今天天气怎么样", "明天会下雨吗"],
    ["给我讲个笑话", "你是机器人吗"],
]
RESULTS = [
    ("valid", "valid", 40),
    ("not_found", "not_uploaded", 18),
    ("not_found", "not_found_recent", 10),
    ("not_found", "not_beijing", 6),
    ("mismatch", "mismatch", 10),
    ("voided", "voided", 4),
    ("red_flushed", "red_flushed", 3),
    ("too_many_checks", "check_limit", 3),
    ("issued_today", "issued_today", 3),
    ("upstream_error", "upstream_unavailable", 3),
]
REGIONS = [("北京", 85), ("上海", 5), ("广东", 4), ("天津", 3), ("江苏", 3)]
HOUR_WEIGHTS = [0.04] * 7 + [0.25, 0.25] + [1.0] * 9 + [0.25] * 5 + [0.04]
SUGGESTIONS = [
    "建议查验页面做得简单点",
    "希望能增加发票到期提醒",
    "能不能加个视频教程",
    "建议支持拍照识别发票",
]


def _weighted(rng: random.Random, pairs):
    return rng.choices([p[:-1] if len(p) > 2 else p[0] for p in pairs], [p[-1] for p in pairs])[0]


class Writer:
    """Rows of one model with every column filled (defaults where not given)."""

    def __init__(self, model) -> None:
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields]
        self.rows: list[dict] = []

    def ids(self, count: int) -> list[int]:
        """Fresh ids, taken from the sequence a block at a time (gaps are harmless)."""
        pool = self.__dict__.setdefault("_pool", collections.deque())
        if len(pool) < count:
            pool.extend(self._fetch(max(count, 20000)))
        return [pool.popleft() for _ in range(count)]

    def _fetch(self, count: int) -> list[int]:
        table = self.model._meta.db_table
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [table, count],
                )
                return [r[0] for r in cursor.fetchall()]
        last = getattr(self, "_last", None)
        if last is None:
            last = self.model.objects.aggregate(m=models.Max("id"))["m"] or 0
        self._last = last + count
        return list(range(last + 1, last + count + 1))

    def add(self, **values) -> None:
        self.rows.append(values)

    def _value(self, field, row):
        if field.attname in row:
            value = row[field.attname]
        elif field.has_default():
            value = field.get_default()
        elif field.null:
            value = None
        else:
            value = ""
        if isinstance(field, models.JSONField) and value is not None:
            return json.dumps(value, ensure_ascii=False)
        return value

    def flush(self) -> int:
        rows, self.rows = self.rows, []
        if not rows:
            return 0
        if connection.vendor == "postgresql":
            columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
            table = connection.ops.quote_name(self.model._meta.db_table)
            sql = f"COPY {table} ({columns}) FROM STDIN"
            with connection.cursor() as cursor, cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row([self._value(f, row) for f in self.fields])
        else:
            objs = []
            for row in rows:
                obj = self.model()
                for field in self.fields:
                    value = self._value(field, row)
                    if isinstance(field, models.JSONField) and value is not None:
                        value = json.loads(value)
                    setattr(obj, field.attname, value)
                objs.append(obj)
            # The rows' own times, not "now": auto_now(_add) would overwrite them.
            stamped = [
                f
                for f in self.fields
                if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False)
            ]
            saved = [(f, f.auto_now, f.auto_now_add) for f in stamped]
            for f in stamped:
                f.auto_now = f.auto_now_add = False
            try:
                self.model.objects.bulk_create(objs, batch_size=2000)
            finally:
                for f, now, add in saved:
                    f.auto_now, f.auto_now_add = now, add
        return len(rows)


class Seeder:
    def __init__(self, *, seed: int = 1, deflected: float = 2.5) -> None:
        self.rng = random.Random(seed)
        self.deflected = deflected
        self.entries = [
            e for e in FaqEntry.objects.filter(active=True) if e.intent_id not in ("oos",)
        ]
        self.by_intent: dict[str, list[FaqEntry]] = {}
        for entry in self.entries:
            self.by_intent.setdefault(entry.intent_id, []).append(entry)
        replies = dict(ReplyTemplate.objects.values_list("key", "text"))
        self.oos_reply = replies.get("oos", "抱歉，这个问题我暂时帮不上忙。")
        self.offer_reply = replies.get("offer_human", "需要为您转接人工客服吗？")
        self.clarify_reply = replies.get("clarify", "您是想问以下哪个问题吗？\n{options}")
        self.thanks = self.by_intent.get("thanks_bye", [None])[0]
        self.acks = [
            render_to_string(f"bot/replies/feedback_{name}.txt").strip()
            for name in ("useful", "useless")
        ]
        self.answerable = [
            e
            for e in self.entries
            if e.intent_id
            not in (
                "greeting",
                "thanks_bye",
                "human_agent",
                "complaint",
                "feedback",
                "ticket_status",
            )
        ]
        self.followers = Writer(Follower)
        self.messages = Writer(Message)
        self.checks = Writer(VerificationRecord)
        self.ratings = Writer(AnswerRating)
        self.suggestions = Writer(Suggestion)
        self.openids: dict[str, int] = dict(Follower.objects.values_list("openid", "id"))
        self.returning: list[str] = []
        self.counts = {"conversations": 0, "messages": 0, "checks": 0}

    # -- pieces ---------------------------------------------------------------------
    def follower(self, openid: str, at: datetime) -> int:
        pk = self.openids.get(openid)
        if pk is None:
            pk = self.followers.ids(1)[0]
            self.followers.add(
                id=pk,
                openid=openid,
                subscribed=True,
                subscribed_at=at,
                last_interaction_at=at,
                created_at=at,
            )
            self.openids[openid] = pk
        return pk

    def pair(self, follower: int, at: datetime, text: str, intent: str, reply: str | None):
        """One follower message and its passive reply; their ids."""
        ids = self.messages.ids(2 if reply is not None else 1)
        self.messages.add(
            id=ids[0],
            follower_id=follower,
            direction="in",
            msg_type="text",
            text=text,
            intent=intent,
            created_at=at,
            wechat_created_at=at,
            dedup_key=f"msg:{follower}:{ids[0]}",
            wechat_msg_id=str(ids[0]),
        )
        if reply is not None:
            sent = at + timedelta(milliseconds=300)
            self.messages.add(
                id=ids[1],
                follower_id=follower,
                direction="out",
                msg_type="text",
                text=reply,
                created_at=sent,
                sent_at=sent,
                reply_to_id=ids[0],
                channel="passive",
                delivery_status="sent",
            )
        self.counts["messages"] += len(ids)
        return ids

    def answer_text(self, entry: FaqEntry) -> str:
        options = entry.quick_reply_list
        if not options:
            return entry.answer
        listed = "　".join(f"{n}. {label}" for n, label in enumerate(options, 1))
        return f"{entry.answer}\n您可以回复序号：{listed}"

    def wording(self, entry: FaqEntry) -> str:
        return self.rng.choice([entry.question, *entry.paraphrase_list])

    # -- conversations --------------------------------------------------------------
    def escalated(self, ticket: dict) -> None:
        at = ticket["created_at"]
        follower = self.follower(ticket["requester_ref"], at - timedelta(minutes=5))
        entries = self.by_intent.get(ticket["category"]) or self.answerable
        entry = self.rng.choice(entries)
        intent = ticket["category"] if ticket["category"] in self.by_intent else entry.intent_id
        self.pair(
            follower,
            at - timedelta(minutes=4),
            ticket["subject"][:200],
            intent,
            self.answer_text(entry),
        )
        self.pair(
            follower,
            at - timedelta(minutes=1),
            "转人工",
            "human_agent",
            f"已为您转接人工客服，工单号：{ticket['number']}。",
        )
        self.counts["conversations"] += 1

    def handled(self, at: datetime) -> None:
        rng = self.rng
        if self.returning and rng.random() < 0.2:
            openid = rng.choice(self.returning)
        else:
            digest = hashlib.blake2b(f"{at.isoformat()}{rng.random()}".encode(), digest_size=12)
            openid = "oBOT" + digest.hexdigest()
            if rng.random() < 0.05:
                self.returning.append(openid)
        follower = self.follower(openid, at)
        kind = rng.choices(["answer", "oos", "clarify", "miss", "idea"], [78, 11, 6, 4, 1])[0]
        if kind == "answer":
            entry = rng.choice(self.answerable)
            question, answer = self.pair(
                follower, at, self.wording(entry), entry.intent_id, self.answer_text(entry)
            )
            later = at + timedelta(seconds=rng.randrange(20, 300))
            roll = rng.random()
            if roll < 0.06:
                useful = rng.random() < 0.7
                ack = self.acks[0] if useful else self.acks[1]
                rated, _ = self.pair(follower, later, "有用" if useful else "没用", "", ack)
                self.ratings.add(
                    id=self.ratings.ids(1)[0],
                    follower_id=follower,
                    question_id=question,
                    answer_id=answer,
                    rating_message_id=rated,
                    entry_key=entry.key,
                    useful=useful,
                    prompted=False,
                    created_at=later,
                    updated_at=later,
                )
            elif roll < 0.45 and self.thanks is not None:
                self.pair(
                    follower, later, self.wording(self.thanks), "thanks_bye", self.thanks.answer
                )
        elif kind == "oos":
            family = rng.choice(OOS_FAMILIES)
            self.pair(follower, at, rng.choice(family), "oos", self.oos_reply)
        elif kind == "clarify":
            picks = rng.sample(self.answerable, 3)
            listed = "\n".join(f"{n}. {e.question}" for n, e in enumerate(picks, 1))
            self.pair(
                follower,
                at,
                rng.choice(["查发票", "发票问题", "票有问题"]),
                picks[0].intent_id,
                self.clarify_reply.replace("{options}", listed),
            )
        elif kind == "miss":
            family = rng.choice(OOS_FAMILIES)
            self.pair(follower, at, family[0], "oos", self.oos_reply)
            self.pair(follower, at + timedelta(seconds=40), family[-1], "oos", self.offer_reply)
        else:
            entry = (self.by_intent.get("feedback") or self.answerable)[0]
            question, _ = self.pair(follower, at, rng.choice(SUGGESTIONS), "feedback", entry.answer)
            self.suggestions.add(
                id=self.suggestions.ids(1)[0],
                follower_id=follower,
                message_id=question,
                text="建议",
                status="new",
                created_at=at,
            )
        self.counts["conversations"] += 1

    def check(self, at: datetime) -> None:
        rng = self.rng
        result, diagnosis = _weighted(rng, RESULTS)
        region = _weighted(rng, REGIONS)
        issuer = f"91110{rng.randrange(40):03d}MA0{rng.randrange(10)}XXXX"
        self.checks.add(
            id=self.checks.ids(1)[0],
            invoice_number=f"{rng.randrange(10**8):08d}",
            region=region,
            source="dialog",
            backend="ledger",
            result=result,
            diagnosis=diagnosis,
            issuer=issuer,
            details={},
            created_at=at,
            latency_ms=rng.randrange(40, 900),
        )
        self.counts["checks"] += 1

    def moment(self, day: date) -> datetime:
        hour = self.rng.choices(range(24), HOUR_WEIGHTS)[0]
        return datetime.combine(day, time(hour), tzinfo=tz()) + timedelta(
            seconds=self.rng.randrange(3600)
        )

    def day(self, day: date, *, base: int) -> None:
        start = datetime.combine(day, time.min, tzinfo=tz())
        tickets = list(
            Ticket.objects.filter(created_at__gte=start, created_at__lt=start + timedelta(days=1))
            .values("id", "requester_ref", "created_at", "category", "subject", "number")
            .order_by("id")
        )
        for ticket in tickets:
            self.escalated(ticket)
        handled = int(len(tickets) * self.deflected) if tickets else base
        weekend = day.weekday() >= 5
        handled = int(handled * (0.4 if weekend and not tickets else 1))
        now = timezone.now()
        for _ in range(handled):
            at = self.moment(day)
            if at < now:
                self.handled(at)
        for _ in range(int((len(tickets) + handled) * 0.5)):
            at = self.moment(day)
            if at < now:
                self.check(at)

    def flush(self) -> None:
        with transaction.atomic():
            for writer in (
                self.followers,
                self.messages,
                self.checks,
                self.ratings,
                self.suggestions,
            ):
                writer.flush()


def seed(
    *, days: int = 30, deflected: float = 2.5, base: int = 60, seed: int = 1, progress: bool = False
) -> dict:
    """Write `days` days of bot traffic up to now around the tickets already there."""
    seeder = Seeder(seed=seed, deflected=deflected)
    today = timezone.now().astimezone(tz()).date()
    for n in range(days - 1, -1, -1):
        day = today - timedelta(days=n)
        seeder.day(day, base=base)
        seeder.flush()
        if progress and n % 10 == 0:
            print(f"  {day}: {seeder.counts}", flush=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Follower, Message, VerificationRecord, AnswerRating, Suggestion):
                cursor.execute(f"ANALYZE {model._meta.db_table}")
    return seeder.counts


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--deflected", type=float, default=2.5)
    parser.add_argument("--base", type=int, default=60, help="conversations a day without tickets")
    args = parser.parse_args()
    print(seed(days=args.days, deflected=args.deflected, base=args.base, progress=True))
