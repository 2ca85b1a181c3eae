"""Group commit: the fast path's statements of many requests in one transaction.

Storing one fast-path message is a single statement (`bot.wechat.services`), and
on PostgreSQL most of its cost is not the statement but the commit around it
and the planning of the statement. Measured on the benchmark machine
(`docs/benchmarks.md`): 0.35 ms of PostgreSQL CPU per message when each one
commits alone, 0.16 ms when four share a commit and run as prepared statements.

So each web process has one writer thread. A request hands its statement over
and waits; the writer takes every statement waiting at that moment (up to
`WECHAT_GROUP_COMMIT_MAX_BATCH`), sends them in one pipeline inside one
transaction, commits, and wakes the requests. Nothing is answered before its
rows are committed, so the exactly-once guarantee is unchanged: a request gets
its reply only when its message is durable. There is no waiting for a batch to
fill: when the writer is idle a statement goes out at once, and under load the
statements that arrive while a batch is committing form the next one.

A statement that fails makes its batch fail; the writer then runs the batch's
statements one transaction each, so one bad message costs only its own request.
The writer uses its own database connection (Django's connections are
per-thread) and reconnects after an error; a statement whose connection was lost
is sent once more on the new one, so statements must be idempotent (the fast
path's is: a second run finds the message stored and returns no row).

Only for statements outside a transaction: inside `transaction.atomic()` (and in
tests using the `db` fixture) the caller runs the statement itself, on its own
connection, where the enclosing transaction can see and roll it back.
"""

import logging
import os
import queue
import threading
from dataclasses import dataclass, field

import psycopg
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

# A request gives up waiting after this long (the writer or the database hangs). Its
# statement may still commit later; WeChat's retry then finds it stored.
WAIT_SECONDS = 30.0
_ONLY_WHEN_ASKED = 2**31  # a psycopg prepare_threshold no statement reaches by repetition


@dataclass
class _Job:
    sql: str
    params: list
    done: threading.Event = field(default_factory=threading.Event)
    returned_row: bool = False
    error: BaseException | None = None


@dataclass
class WriterStats:
    """Counters of one process's writer (read by tests and the benchmark)."""

    batches: int = 0
    statements: int = 0
    largest_batch: int = 0
    retried_alone: int = 0


class GroupCommitWriter:
    """One per process; `execute` is safe to call from any number of threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self.stats = WriterStats()

    def execute(self, *, sql: str, params: list) -> bool:
        """Run `sql` in a shared transaction; True when it returned a row. Waits for the commit."""
        job = _Job(sql=sql, params=params)
        self._running_queue().put(job)
        if not job.done.wait(WAIT_SECONDS):
            raise TimeoutError("the group-commit writer did not answer in time")
        if job.error is not None:
            raise job.error
        return job.returned_row

    def close_connection(self) -> None:
        """Close the writer's database connection (it reconnects on the next statement).

        Runs in the writer thread, which owns the connection; for shutdown and tests.
        """
        if self._pid == os.getpid():
            job = _Job(sql="", params=[])
            self._queue.put(job)
            job.done.wait(WAIT_SECONDS)

    def _running_queue(self) -> queue.SimpleQueue:
        # Started on first use in each process: a thread does not survive a fork
        # (gunicorn's workers, Celery's prefork pool).
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._queue = queue.SimpleQueue()
                    thread = threading.Thread(
                        target=self._run, args=(self._queue,), name="group-commit", daemon=True
                    )
                    thread.start()
                    self._pid = os.getpid()
        return self._queue

    # -- the writer thread ---------------------------------------------------------------
    def _run(self, jobs: queue.SimpleQueue) -> None:
        max_batch = settings.WECHAT_GROUP_COMMIT_MAX_BATCH
        while True:
            batch = [jobs.get()]
            while len(batch) < max_batch and batch[-1].sql:
                try:
                    batch.append(jobs.get_nowait())
                except queue.Empty:
                    break
            closing = batch[-1] if not batch[-1].sql else None
            if closing is not None:
                batch.pop()
            if batch:
                self._write(batch)
            if closing is not None:
                self._discard_connection()
                closing.done.set()

    def _write(self, batch: list[_Job]) -> None:
        try:
            try:
                self._commit(batch)
            except Exception as exc:
                self._discard_connection()
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
                        self._discard_connection()
                        job.error = alone_exc
        except BaseException as exc:  # never leave a request waiting
            for job in batch:
                job.error = job.error or exc
            raise
        finally:
            for job in batch:
                job.done.set()

    def _commit(self, batch: list[_Job]) -> None:
        connection.ensure_connection()
        raw: psycopg.Connection = connection.connection
        # Server-side binding and prepare=True: each distinct statement is planned once
        # per connection. Django opens connections with prepared statements switched off
        # (prepare_threshold None), which also ignores prepare=True: on this connection,
        # used by nothing else, only what asks for it is prepared.
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

    @staticmethod
    def _discard_connection() -> None:
        try:
            connection.close()
        except Exception:
            logger.exception("closing the group-commit connection failed")


writer = GroupCommitWriter()


def group_commit_execute(*, sql: str, params: list) -> bool:
    """Run one statement that returns at most a row, sharing a commit with other requests.

    Inside a transaction, or with group commit switched off, the statement runs on the
    caller's own connection instead. Returns whether the statement returned a row.
    """
    if connection.in_atomic_block or not settings.WECHAT_GROUP_COMMIT:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone() is not None
    return writer.execute(sql=sql, params=params)
