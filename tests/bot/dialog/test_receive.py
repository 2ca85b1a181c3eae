"""The one receive path: a simple turn and a routed turn store the same rows.

`bot.dialog.receive` stores a turn no hook acts on in one statement
(`conversation_turn_store`) and every other turn in a transaction with the
router's work (`_turn_store_and_route`); these tests pin that both store exactly
the same rows, keep the conversation, and store a delivery once.
"""

import threading
import time

import pytest
from django.db import connection

from bot.conversations.models import Follower, Message
from bot.simulator.envelope import build_delivery, message_fields

pytestmark = pytest.mark.django_db

QUESTION = "今天开的发票为什么查验不了"
# Fields that name the message or the moment, not what was stored.
_IDENTITY = {"id", "follower", "reply_to", "created_at", "sent_at", "wechat_created_at"}


@pytest.fixture
def path_taken(monkeypatch):
    """Record which route stored each delivery: "fast" (one statement) or "full" (routed)."""
    from bot.dialog import receive

    taken = []
    real_fast, real_full = receive.conversation_turn_store, receive._turn_store_and_route

    def fast(**kwargs):
        taken.append("fast")
        return real_fast(**kwargs)

    def full(turn):
        taken.append("full")
        return real_full(turn)

    monkeypatch.setattr(receive, "conversation_turn_store", fast)
    monkeypatch.setattr(receive, "_turn_store_and_route", full)
    return taken


def _row(message: Message, openid: str, msg_id: str) -> dict:
    values = {
        f.attname: getattr(message, f.attname)
        for f in Message._meta.concrete_fields
        if f.name not in _IDENTITY
    }
    for name in ("raw", "dedup_key", "wechat_msg_id"):
        if values[name]:
            values[name] = values[name].replace(openid, "<openid>").replace(msg_id, "<msgid>")
    return values


def _known_quiet(wechat, openid):
    """A follower whose first message taught the webhook that the help desk is quiet."""
    wechat.text(openid, "你好")


def test_fast_path_stores_exactly_the_rows_of_the_full_path(wechat, path_taken):
    from bot.helpdesk.state import helpdesk_state_forget

    stored = {}
    # One CreateTime for both: the raw XML is compared, and a second may tick between them.
    created = str(int(time.time()))
    for openid, path in (("o-path-fast", "fast"), ("o-path-full", "full")):
        _known_quiet(wechat, openid)
        if path == "full":
            helpdesk_state_forget(openid)  # as after a ticket change: the full path answers
        path_taken.clear()
        fields = message_fields(
            openid=openid, msg_type="text", Content=QUESTION, CreateTime=created
        )
        reply = wechat.reply(wechat.post(fields))["Content"]
        assert path_taken == [path]
        inbound = Message.objects.get(dedup_key=f"msg:{openid}:{fields['MsgId']}")
        out = Message.objects.get(reply_to=inbound)
        assert out.text == reply and inbound.intent == "sync_delay"
        assert out.follower_id == inbound.follower_id == Follower.objects.get(openid=openid).pk
        assert out.sent_at is not None and out.created_at is not None
        stored[path] = (
            _row(inbound, openid, fields["MsgId"]),
            _row(out, openid, fields["MsgId"]),
            reply,
        )
    # Every concrete field of both rows, so a field the raw SQL misses shows up here.
    assert stored["fast"] == stored["full"]
    fast, full = (Follower.objects.get(openid=o) for o in ("o-path-fast", "o-path-full"))
    follower_fields = [f.attname for f in Follower._meta.concrete_fields if f.name != "id"]
    for name in follower_fields:
        if name not in ("openid", "created_at", "last_interaction_at"):
            assert getattr(fast, name) == getattr(full, name), name
    assert fast.last_interaction_at >= fast.created_at


def test_fast_path_keeps_the_conversation_for_a_follow_up(wechat, path_taken):
    """The fast path writes the NLU's memory with its dedup outcome: the follow-up sees it."""
    _known_quiet(wechat, "o-fast-follow")
    path_taken.clear()
    wechat.text("o-fast-follow", QUESTION)
    follow_up = wechat.reply(wechat.text("o-fast-follow", "还是不行"))["Content"]
    assert path_taken == ["fast", "fast"]
    # Without the topic, "还是不行" alone is not understood; with it, the still-unsolved reply.
    from bot.nlu.services import nlu_fixed_reply

    assert follow_up.startswith(nlu_fixed_reply(key="still_unsolved")[:10])


def _nlu_memory(openid: str):
    from django.core.cache import cache

    from bot.dialog.state import ConversationState, state_key

    return ConversationState.from_cached(cache.get(state_key(openid))).nlu_context()


def test_fast_path_goodbye_forgets_the_conversation(wechat, path_taken):
    _known_quiet(wechat, "o-fast-bye")
    wechat.text("o-fast-bye", QUESTION)
    assert _nlu_memory("o-fast-bye").intent == "sync_delay"
    path_taken.clear()
    wechat.text("o-fast-bye", "谢谢，再见")
    assert path_taken == ["fast"]
    assert _nlu_memory("o-fast-bye").intent is None


def test_a_returning_followers_question_costs_one_statement(wechat, path_taken):
    from django.test.utils import CaptureQueriesContext

    _known_quiet(wechat, "o-fast-count")
    path_taken.clear()
    with CaptureQueriesContext(connection) as queries:
        assert wechat.text("o-fast-count", QUESTION).status_code == 200
    assert path_taken == ["fast"]
    statements = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    # PostgreSQL: follower, message and reply in one statement. SQLite: the same three
    # writers one by one, in one transaction.
    assert len(statements) == (1 if connection.vendor == "postgresql" else 3), statements


def test_a_new_followers_first_question_costs_one_query_more(wechat, path_taken):
    """The help desk learns it has nothing for a new follower in one query, then the turn
    is stored like any other: no second round through the full route."""
    from django.test.utils import CaptureQueriesContext

    wechat.text("o-first-warm", QUESTION)  # the process's KB index is built once, here
    path_taken.clear()
    with CaptureQueriesContext(connection) as queries:
        assert wechat.text("o-first-count", QUESTION).status_code == 200
    assert path_taken == ["fast"]
    statements = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == (2 if connection.vendor == "postgresql" else 4), statements


def test_fast_path_retries_store_one_row_even_after_the_dedup_claim_is_lost(wechat, path_taken):
    from django.core.cache import cache

    from bot.channels.wechat import dedup

    _known_quiet(wechat, "o-fast-retry")
    fields = message_fields(openid="o-fast-retry", msg_type="text", Content=QUESTION)
    first = wechat.reply(wechat.post(fields))["Content"]
    touched = Follower.objects.get(openid="o-fast-retry").last_interaction_at
    for _ in range(3):
        assert wechat.reply(wechat.post(fields))["Content"] == first
    cache.delete(dedup._cache_key(dedup.dedup_key_for(fields)))  # the claim alone is lost
    path_taken.clear()
    assert wechat.reply(wechat.post(fields))["Content"] == first
    assert path_taken == ["fast"]  # the database said "stored already"
    assert Message.objects.filter(direction="in", wechat_msg_id=fields["MsgId"]).count() == 1
    assert Message.objects.filter(reply_to__wechat_msg_id=fields["MsgId"]).count() == 1
    # A retry is not a new interaction, on either path.
    assert Follower.objects.get(openid="o-fast-retry").last_interaction_at == touched


def test_follower_with_an_open_ticket_never_takes_the_fast_path(wechat, path_taken):
    from tickets.models import Ticket, TicketMessage

    _known_quiet(wechat, "o-fast-ticket")
    wechat.text("o-fast-ticket", "转人工")
    ticket = Ticket.objects.get(requester_ref="o-fast-ticket")
    notes = TicketMessage.objects.filter(ticket=ticket).count()
    path_taken.clear()
    for _ in range(2):
        assert wechat.text("o-fast-ticket", QUESTION).status_code == 200
    assert path_taken == ["full", "full"]
    # Both joined the ticket, as the full path does.
    assert TicketMessage.objects.filter(ticket=ticket).count() >= notes + 2


def test_invoice_digits_never_take_the_fast_path(wechat, path_taken):
    _known_quiet(wechat, "o-fast-digits")
    path_taken.clear()
    wechat.text("o-fast-digits", "发票代码011001900211 号码12345678 查不到")
    assert path_taken == ["full"]


def test_a_failure_storing_a_fast_path_message_releases_the_claim(wechat, path_taken, monkeypatch):
    from django.core.cache import cache
    from django.db import DatabaseError, transaction

    from bot.channels.wechat import dedup
    from bot.conversations import services

    _known_quiet(wechat, "o-fast-fail")
    fields = message_fields(openid="o-fast-fail", msg_type="text", Content=QUESTION)
    if connection.vendor == "postgresql":
        # The real statement fails in the database.
        monkeypatch.setattr(
            services, "_turn_sql", lambda **kw: ("INSERT INTO no_such_table VALUES (1)", [])
        )
    else:

        def broken(**kwargs):
            raise DatabaseError("disk full")

        monkeypatch.setattr(services, "follower_touch", broken)
    path_taken.clear()
    # In production the failed statement simply ends (autocommit); here it would leave
    # the test's own transaction aborted.
    before = transaction.savepoint()
    with pytest.raises(DatabaseError):
        wechat.post(fields)
    transaction.savepoint_rollback(before)
    assert path_taken == ["fast"]
    assert cache.get(dedup._cache_key(dedup.dedup_key_for(fields))) is None  # released
    assert not Message.objects.filter(wechat_msg_id=fields["MsgId"]).exists()
    monkeypatch.undo()
    # WeChat's retry is handled afresh and stored once.
    reply = wechat.reply(wechat.post(fields))
    assert reply is not None and reply["MsgType"] == "text"
    assert Message.objects.filter(direction="in", wechat_msg_id=fields["MsgId"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_fast_path_deliveries_store_one_row(wechat):
    if connection.vendor == "sqlite":
        pytest.skip("concurrent writers need PostgreSQL (CI runs this there)")
    _known_quiet(wechat, "o-fast-concurrent")
    from django.core.cache import cache

    from bot.channels.wechat import dedup

    fields = message_fields(openid="o-fast-concurrent", msg_type="text", Content=QUESTION)
    delivery = build_delivery(fields)
    results = []

    def deliver():
        from django.test import Client

        barrier.wait()
        response = Client().post(delivery.path, delivery.body, content_type="text/xml")
        results.append((response.status_code, response.content))
        connection.close()

    for _ in range(3):  # with the claim, and twice without it (cold cache: the DB decides)
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        cache.delete(dedup._cache_key(dedup.dedup_key_for(fields)))
    assert [status for status, _ in results] == [200] * 6
    assert len({body for _, body in results if b"<Content>" in body}) >= 1
    assert Message.objects.filter(direction="in", wechat_msg_id=fields["MsgId"]).count() == 1
    assert Message.objects.filter(reply_to__wechat_msg_id=fields["MsgId"]).count() == 1
