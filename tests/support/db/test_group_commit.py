"""Group commit of the simple turns (support/db/group_commit.py), on PostgreSQL.

The leader is held on an advisory lock so that the requests sent meanwhile queue up
and must go out together; then the lock is released and every request must get its
reply with its rows committed.
"""

import threading

import pytest
from django.db import connection

from bot.conversations.models import Message
from bot.helpdesk.state import helpdesk_state_learn
from bot.simulator.envelope import build_delivery, message_fields, open_reply
from support.db.group_commit import group_commit, group_commit_execute
from tests.concurrency import wait_for

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="group commit is for PostgreSQL (CI's second run)"
    ),
    pytest.mark.django_db(transaction=True),
]

_LOCK = 972_411  # an advisory lock number no other code uses


@pytest.fixture(autouse=True)
def _knowledge_base():
    """The seed KB, as its migration writes it: a transactional test before this one may
    have flushed every table, and the messages must be understood as in production."""
    from django.apps import apps

    from bot.nlu.seed import seed_apply

    seed_apply(apps)


class _HeldWriter:
    """A leader blocked inside its statement until `release()`: the others must wait."""

    def __init__(self):
        import psycopg

        params = connection.get_connection_params()
        self._holder = psycopg.connect(**params, autocommit=True)
        self._holder.execute("SELECT pg_advisory_lock(%s)", [_LOCK])
        self._thread = threading.Thread(target=self._lead_and_block)
        self._thread.start()
        assert wait_for(lambda: self._waiting_on_lock(), seconds=10)

    @staticmethod
    def _lead_and_block():
        from django.db import connections

        try:
            group_commit_execute(sql="SELECT pg_advisory_xact_lock(%s), 1", params=[_LOCK])
        finally:
            connections.close_all()

    def _waiting_on_lock(self) -> bool:
        row = self._holder.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ).fetchone()
        return row[0] >= 1

    def release(self):
        self._holder.execute("SELECT pg_advisory_unlock(%s)", [_LOCK])
        self._thread.join(timeout=30)
        self._holder.close()


def _in_background(work, results, i):
    def run():
        from django.db import connections

        try:
            results[i] = work()
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _deliver(openid: str, msg_id: str, text: str = "刚开的发票查不到怎么办"):
    from django.test import Client

    fields = message_fields(openid=openid, msg_type="text", Content=text, MsgId=msg_id)
    delivery = build_delivery(fields)
    response = Client().post(delivery.path, delivery.body, content_type="text/xml")
    return response.status_code, open_reply(response.content.decode())


def _queued(n: int) -> bool:
    return group_commit.waiting() >= n


def test_messages_of_concurrent_requests_share_one_commit():
    openids = [f"o-gc-{i}" for i in range(5)]
    for openid in openids:
        helpdesk_state_learn(openid=openid)  # quiet: their messages take the fast path
    before = group_commit.stats.statements
    held = _HeldWriter()
    results = [None] * 5
    threads = [
        _in_background(lambda i=i: _deliver(openids[i], f"77{i}"), results, i) for i in range(5)
    ]
    assert wait_for(lambda: _queued(5), seconds=10)
    assert Message.objects.count() == 0  # nobody answered before the commit
    held.release()
    for thread in threads:
        thread.join(timeout=30)

    for status, reply in results:
        assert status == 200 and "发票" in reply["Content"]
    assert group_commit.stats.largest_batch >= 5
    assert group_commit.stats.statements == before + 6  # the lock statement and the five messages
    for i, openid in enumerate(openids):
        inbound = Message.objects.get(follower__openid=openid, direction="in")
        assert inbound.wechat_msg_id == f"77{i}" and inbound.intent
        assert Message.objects.get(reply_to=inbound).text == results[i][1]["Content"]


def test_a_failing_statement_costs_only_its_own_request():
    for openid in ("o-gc-good1", "o-gc-good2"):
        helpdesk_state_learn(openid=openid)
    retried = group_commit.stats.retried_alone
    held = _HeldWriter()
    results = [None] * 3
    threads = [
        _in_background(lambda: _deliver("o-gc-good1", "881"), results, 0),
        _in_background(lambda: group_commit_execute(sql="SELECT 1 / %s", params=[0]), results, 1),
        _in_background(lambda: _deliver("o-gc-good2", "882"), results, 2),
    ]
    assert wait_for(lambda: _queued(3), seconds=10)
    held.release()
    for thread in threads:
        thread.join(timeout=30)

    assert results[0][0] == 200 and results[2][0] == 200
    assert "division by zero" in str(results[1])
    assert group_commit.stats.retried_alone == retried + 3
    assert Message.objects.filter(direction="in").count() == 2
    assert Message.objects.filter(direction="out").count() == 2


def test_a_lost_connection_is_replaced_and_the_message_stored():
    helpdesk_state_learn(openid="o-gc-lost")
    killed, first_done, results = threading.Event(), threading.Event(), [None, None]
    backend = []

    def one_thread_two_messages():
        # The same thread (so the same connection) before and after its backend dies.
        from django.db import connections

        try:
            results[0] = _deliver("o-gc-lost", "991")
            backend.append(connections["default"].connection.info.backend_pid)
            first_done.set()
            killed.wait(10)
            results[1] = _deliver("o-gc-lost", "992")
        finally:
            first_done.set()
            connections.close_all()

    thread = threading.Thread(target=one_thread_two_messages)
    thread.start()
    assert first_done.wait(10) and results[0][0] == 200
    retried = group_commit.stats.retried_alone
    with connection.cursor() as cursor:
        # Only that thread's backend: other tests' threads (a live server) keep theirs.
        cursor.execute("SELECT pg_terminate_backend(%s)", backend)
        assert cursor.fetchone()[0] is True
    killed.set()
    thread.join(timeout=30)
    status, reply = results[1]
    assert status == 200 and reply["Content"]
    assert group_commit.stats.retried_alone == retried + 1  # sent again on a new connection
    assert Message.objects.filter(follower__openid="o-gc-lost", direction="in").count() == 2


def test_a_retry_in_the_same_batch_is_stored_once():
    helpdesk_state_learn(openid="o-gc-retry")
    held = _HeldWriter()
    results = [None] * 2
    threads = [_in_background(lambda: _deliver("o-gc-retry", "551"), results, i) for i in range(2)]
    # The second delivery waits on the first one's dedup claim, not in the queue.
    assert wait_for(lambda: _queued(1), seconds=10)
    held.release()
    for thread in threads:
        thread.join(timeout=30)
    assert results[0][1]["Content"] == results[1][1]["Content"]
    assert Message.objects.filter(direction="in").count() == 1
    assert Message.objects.filter(direction="out").count() == 1


@pytest.mark.django_db  # the test runs in a transaction, as a caller inside atomic() would
def test_inside_a_transaction_the_statement_runs_on_the_callers_connection(wechat):
    helpdesk_state_learn(openid="o-gc-atomic")
    before = group_commit.stats.statements
    reply = wechat.reply(wechat.text("o-gc-atomic", "刚开的发票查不到怎么办"))
    assert reply["Content"]
    assert group_commit.stats.statements == before  # run alone, inside the transaction
    assert Message.objects.filter(follower__openid="o-gc-atomic").count() == 2


def test_switched_off_each_request_commits_its_own(settings):
    settings.WECHAT_GROUP_COMMIT = False
    helpdesk_state_learn(openid="o-gc-off")
    before = group_commit.stats.statements
    status, reply = _deliver("o-gc-off", "661")
    assert status == 200 and reply["Content"]
    assert group_commit.stats.statements == before
    assert Message.objects.filter(follower__openid="o-gc-off").count() == 2


def test_a_request_that_gives_up_waiting_leaves_the_queue_and_nothing_stuck(monkeypatch):
    from support.db import group_commit as module

    monkeypatch.setattr(module, "WAIT_SECONDS", 0.5)
    held = _HeldWriter()
    results = [None]
    thread = _in_background(
        lambda: group_commit_execute(sql="SELECT 1 WHERE %s", params=[True]), results, 0
    )
    thread.join(timeout=10)
    assert isinstance(results[0], TimeoutError)
    assert group_commit.waiting() == 0  # it took itself out of the queue
    held.release()
    # The lead was passed on to nobody: the next request leads and is answered at once.
    assert group_commit_execute(sql="SELECT 1 WHERE %s", params=[True]) is True
    assert group_commit.waiting() == 0 and not group_commit._leading
