"""Group commit: the fast path's statements of concurrent requests in one transaction.

Storing a common turn is a single statement (`bot.conversations.services`), and
on PostgreSQL much of its cost is not the statement but the commit around it and
the planning of the statement. Measured on the benchmark machine
(`docs/benchmarks.md`): 0.35 ms of PostgreSQL CPU per message when each one
commits alone and is planned each time, 0.16 ms when four share a commit and
run as prepared statements.

Leader and followers, as databases do it for their own log: a request that finds
nobody writing becomes the leader and runs its statement at once, on its own
connection; requests arriving meanwhile queue up and wait. When the leader's
commit is done it hands the lead to the first waiting request, which takes every
statement waiting (up to `WECHAT_GROUP_COMMIT_MAX_BATCH`), runs them as one
pipeline inside one transaction, commits, wakes their requests, and so on. A
request alone never waits for anybody, and no thread is added. Nothing is
answered before its rows are committed: the exactly-once guarantee is unchanged.

A statement that fails makes its batch fail; the leader then runs the batch's
statements one transaction each, so one bad message costs only its own request.
After an error the leader's connection is closed and reopened, and a statement
whose connection was lost is sent once more on the new one, so statements must
be idempotent (the fast path's is: a second run finds the message stored and
returns no row).

Only for statements outside a transaction: inside `transaction.atomic()` (and in
tests using the `db` fixture) the caller runs the statement alone on its own
connection, where the enclosing transaction can see and roll it back.
"""

import logging
import threading
from dataclasses import dataclass, field

import psycopg
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

# A waiting request gives up after this long (the database hangs). Its statement may
# still commit later; WeChat's retry then finds it stored.
WAIT_SECONDS = 30.0
_ONLY_WHEN_ASKED = 2**31  # a psycopg prepare_threshold no statement reaches by repetition


@dataclass(eq=False)  # compared by identity: two requests may send equal statements
class _Job:
    sql: str
    params: list
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # woken to lead the next batch, not because it is done
    returned_row: bool = False
    error: BaseException | None = None


@dataclass
class GroupCommitStats:
    """Counters of one process (read by tests and the benchmark)."""

    batches: int = 0
    statements: int = 0
    largest_batch: int = 0
    retried_alone: int = 0


class GroupCommit:
    """One per process; `execute` is safe to call from any number of threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[_Job] = []
        self._leading = False
        self.stats = GroupCommitStats()

    def execute(self, *, sql: str, params: list) -> bool:
        """Run `sql` in a shared transaction; True when it returned a row. Waits for the commit."""
        job = _Job(sql=sql, params=params)
        with self._lock:
            self._waiting.append(job)
            leads = not self._leading
            self._leading = True
        if not leads and not job.done.wait(WAIT_SECONDS):
            with self._lock:
                if job in self._waiting and not job.lead:
                    self._waiting.remove(job)
                    raise TimeoutError("the group commit did not answer in time")
            job.done.wait()  # taken into a batch or handed the lead just now
        if leads or job.lead:
            self._lead()
        if job.error is not None:
            raise job.error
        return job.returned_row

    def waiting(self) -> int:
        """Statements queued behind the one being written (tests)."""
        with self._lock:
            return len(self._waiting)

    def _lead(self) -> None:
        """Write one batch (which holds this thread's own statement), then pass the lead on."""
        with self._lock:
            batch = self._waiting[: settings.WECHAT_GROUP_COMMIT_MAX_BATCH]
            del self._waiting[: len(batch)]
        try:
            self._write(batch)
        finally:
            with self._lock:
                successor = self._waiting[0] if self._waiting else None
                self._leading = successor is not None
            if successor is not None:
                successor.lead = True
                successor.done.set()

    def _write(self, batch: list[_Job]) -> None:
        try:
            try:
                self._commit(batch)
            except Exception as exc:
                _discard_connection()
                if len(batch) == 1 and not isinstance(exc, psycopg.OperationalError):
                    batch[0].error = exc  # its own statement failed: again would fail again
                    return
                # Find the statement at fault, or get past a lost connection: each
                # statement alone, in its own transaction, on a fresh connection.
                logger.warning("group commit of %d statements failed: %s", len(batch), exc)
                for job in batch:
                    self.stats.retried_alone += 1
                    try:
                        self._commit([job])
                    except Exception as alone_exc:
                        _discard_connection()
                        job.error = alone_exc
        except BaseException as exc:  # never leave a request waiting
            for job in batch:
                job.error = job.error or exc
            raise
        finally:
            for job in batch:
                job.lead = False
                job.done.set()

    def _commit(self, batch: list[_Job]) -> None:
        connection.ensure_connection()
        raw: psycopg.Connection = connection.connection
        # Server-side binding and prepare=True: each distinct statement is planned once
        # per connection. Django opens connections with prepared statements switched off
        # (prepare_threshold None), which also ignores prepare=True; its own cursors bind
        # client-side and never prepare, so this changes nothing for them.
        if raw.prepare_threshold is None:
            raw.prepare_threshold = _ONLY_WHEN_ASKED
        if len(batch) == 1:
            # One statement is atomic on its own: no BEGIN/COMMIT round trips, no pipeline.
            job = batch[0]
            with psycopg.Cursor(raw) as cursor:
                cursor.execute(job.sql, job.params, prepare=True)
                job.returned_row = cursor.fetchone() is not None
        else:
            cursors = [psycopg.Cursor(raw) for _ in batch]
            try:
                with raw.transaction(), raw.pipeline():
                    for cursor, job in zip(cursors, batch, strict=True):
                        cursor.execute(job.sql, job.params, prepare=True)
                for cursor, job in zip(cursors, batch, strict=True):
                    job.returned_row = cursor.fetchone() is not None
            finally:
                for cursor in cursors:
                    cursor.close()
        self.stats.batches += 1
        self.stats.statements += len(batch)
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))


def _discard_connection() -> None:
    try:
        connection.close()
    except Exception:
        logger.exception("closing the connection after a failed group commit failed")


group_commit = GroupCommit()


def group_commit_execute(*, sql: str, params: list) -> bool:
    """Run one statement that returns at most a row, sharing a commit with other requests.

    Inside a transaction, or with group commit switched off, the statement runs alone on
    the caller's connection instead. Returns whether the statement returned a row.
    """
    if connection.in_atomic_block or not settings.WECHAT_GROUP_COMMIT:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone() is not None
    return group_commit.execute(sql=sql, params=params)
