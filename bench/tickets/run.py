"""Help-desk pages at scale: admin queue view, API list, ticket page and detail, p50/p95.

    .venv/bin/python bench/tickets/run.py [--tickets 1000000] [--requests 30] [--explain]

Creates the PostgreSQL database `fapiao_tickets_bench` (127.0.0.1:5432) if missing, migrates
it, seeds demo tickets with `manage.py seed_demo` until it holds --tickets, starts gunicorn
(production settings: DEBUG off, whitenoise, Redis cache) and times real HTTP requests with
one keep-alive connection per client, one request at a time. Prints a table with pass/fail
against the targets (lists ≤ 300 ms p95, a ticket ≤ 200 ms p95) and, for a failing row, the
slowest SQL of that page. Exit status 0 only when every row passes.
"""

import argparse
import http.client
import math
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
LIST_P95_MS = 300.0
PAGE_P95_MS = 200.0


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000, help="seed up to this many")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per row (≥ 30)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/fapiao_tickets_bench"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13", help="'' = locmem")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE a miss")
    parser.add_argument("--skip-seed", action="store_true", help="measure what is there")
    args = parser.parse_args()
    args.requests = max(args.requests, 30)
    return args


def _environment(args: argparse.Namespace) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "support.settings",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CELERY_BROKER_URL": args.redis_url or "memory://",
        "CACHE_KEY_PREFIX": "tickets-bench",
        "DJANGO_DEBUG": "0",
        # A throwaway key for this run: the bench process signs the sessions gunicorn reads.
        "DJANGO_SECRET_KEY": "bench-" + secrets.token_urlsafe(40),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_STATIC_ROOT": "/tmp/fapiao-tickets-bench-static",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    return env


def _database_create(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def _manage(env: dict[str, str], *argv: str) -> None:
    subprocess.run([PYTHON, "manage.py", *argv], cwd=ROOT, env=env, check=True)


def _prepare(args: argparse.Namespace, env: dict[str, str]) -> None:
    _database_create(args.database_url)
    _manage(env, "migrate", "-v0")
    _manage(env, "collectstatic", "--noinput", "-v0")
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from tickets.models import Ticket

    have = Ticket.objects.count()
    if have < args.tickets and not args.skip_seed:
        print(f"{have} tickets, seeding {args.tickets - have} more")
        started = time.perf_counter()
        _manage(env, "seed_demo", "--tickets", str(args.tickets - have))
        took = time.perf_counter() - started
        print(f"seeded {args.tickets - have} in {took:.0f} s: {(args.tickets - have) / took:.0f}/s")


class Gunicorn:
    def __init__(self, args: argparse.Namespace, env: dict[str, str]):
        self.port = args.port
        self.proc = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "gunicorn"), "support.wsgi",
                "-w", str(args.workers), "-b", f"127.0.0.1:{args.port}",
                "--log-level", "warning",
            ],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip

    def wait_ready(self) -> None:
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("gunicorn did not start")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=20)


def _users():
    """A supervisor and an agent of the verify queue, with an API token and a session each."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from tickets.models import AgentProfile, Queue

    users = get_user_model()
    out = {}
    for name, supervisor in (("bench-lead", True), ("bench-agent", False)):
        user, _ = users.objects.get_or_create(username=name, defaults={"is_staff": True})
        profile, _ = AgentProfile.objects.get_or_create(user=user)
        profile.is_supervisor = supervisor
        profile.save(update_fields=["is_supervisor"])
        if not supervisor:
            profile.queues.set([Queue.objects.get(slug="verify")])
        client = Client()
        client.force_login(user)
        token = Token.objects.get_or_create(user=user)[0].key
        out[name] = (
            {"Cookie": f"sessionid={client.cookies['sessionid'].value}"},
            {"Authorization": f"Token {token}"},
            client,
        )
    return out


def _sample(count: int) -> list:
    """Tickets of the agent's queue with an invoice, spread over the whole table."""
    import random

    from django.db.models import Max, Min

    from tickets.models import Ticket

    rng = random.Random(7)
    qs = Ticket.objects.filter(queue__slug="verify").exclude(invoice_numbers="")
    bounds = Ticket.objects.aggregate(lo=Min("id"), hi=Max("id"))
    picked = {}
    while len(picked) < count:
        ticket = qs.filter(id__gte=rng.randint(bounds["lo"], bounds["hi"])).order_by("id").first()
        if ticket is not None:
            picked[ticket.pk] = ticket
    return list(picked.values())


def _cases(users, count: int) -> list[tuple[str, list[str], dict, float, object]]:
    """Rows of the table: (label, URLs to cycle through, headers, p95 target, client)."""
    from django.contrib.auth import get_user_model

    tickets = _sample(count + 1)  # a different ticket per request: no single hot row
    demo_agent = get_user_model().objects.get(username="demo-verify-01").pk
    admin = "/admin/tickets/ticket/"
    rows = []

    def each(pattern: str) -> list[str]:
        return [
            pattern.format(
                pk=t.pk,
                number=t.number,
                invoice=t.invoice_numbers.split()[0],
                openid=quote(t.requester_ref),
            )
            for t in tickets
        ]

    for who, label in (("bench-lead", "supervisor"), ("bench-agent", "agent")):
        session, token, client = users[who]
        lists = [
            ("admin queue view", [admin], session),
            ("admin status=open", [admin + "?status__exact=open"], session),
            ("admin SLA breached", [admin + "?sla=breached"], session),
            ("admin SLA due in 1 h", [admin + "?sla=due_1h"], session),
            ("admin assignee + open", [admin + f"?assignee={demo_agent}&status__exact=open"],
             session),
            ("admin page 100", [admin + "?p=100"], session),
            ("admin sorted by updated", [admin + "?o=-10"], session),
            ("admin sorted by queue", [admin + "?o=4"], session),
            ("admin sorted by status", [admin + "?o=5"], session),
            ("admin sorted by priority", [admin + "?o=6"], session),
            ("admin sorted by assignee", [admin + "?o=7"], session),
            ("admin search number", each(admin + "?q={number}"), session),
            ("admin search invoice no.", each(admin + "?q={invoice}"), session),
            ("admin search openid", each(admin + "?q={openid}"), session),
            ("api list", ["/api/tickets/"], token),
            ("api list status=open", ["/api/tickets/?status=open"], token),
            ("api list openid", each("/api/tickets/?openid={openid}"), token),
        ]  # fmt: skip
        rows += [(f"{name} ({label})", urls, h, LIST_P95_MS, client) for name, urls, h in lists]
        rows += [
            (f"admin ticket page ({label})", each(admin + "{pk}/change/"), session,
             PAGE_P95_MS, client),
            (f"api ticket detail ({label})", each("/api/tickets/{pk}/"), token, PAGE_P95_MS,
             client),
        ]  # fmt: skip
    return rows


def _pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def _measure(port: int, urls: list[str], headers: dict, count: int, target: float) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    for k in range(count + 3):  # three warm-up requests per row are not counted
        url = urls[-1] if k < 3 else urls[(k - 3) % len(urls)]
        started = time.perf_counter()
        conn.request("GET", url, headers=headers)
        response = conn.getresponse()
        body = response.read()
        took = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise SystemExit(f"{url}: HTTP {response.status} {body[:200]!r}")
        if k >= 3:
            times.append(took)
        # A row far over target after 10 requests is not worth a minute of a shared CPU.
        if len(times) == 10 and statistics.median(times) > 3 * target:
            break
    conn.close()
    return times


def _slowest_sql(client, url: str, headers: dict, explain: bool) -> None:
    """Replay one request in process and print its slowest statements (to explain a miss)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    extra = {"HTTP_AUTHORIZATION": headers["Authorization"]} if "Authorization" in headers else {}
    with CaptureQueriesContext(connection) as queries:
        try:
            client.get(url, **extra)
        except Exception as error:  # the tree may change under a long run; the table stands
            print(f"    replay failed: {error!r}")
            return
    total = sum(float(q["time"]) for q in queries.captured_queries) * 1000
    print(f"    {len(queries)} queries, {total:.0f} ms SQL; slowest:")
    slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]
    for q in slowest:
        print(f"    {float(q['time']) * 1000:7.1f} ms  {q['sql'][:240]}")
    if not explain:
        return
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest[0]["sql"])
        for (line,) in cursor.fetchall():
            print(f"      {line}")


def _facts() -> str:
    from django.db import connection

    from tickets.models import Ticket, TicketEvent, TicketMessage

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    counts = [
        m.objects.count() if m is Ticket else _estimate(m)
        for m in (Ticket, TicketMessage, TicketEvent)
    ]
    return (
        f"PostgreSQL {version}, database {size}; tickets {counts[0]:,}, "
        f"messages ~{counts[1]:,}, events ~{counts[2]:,}; {os.cpu_count()} CPUs"
    )


def _estimate(model) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [model._meta.db_table]
        )
        return cursor.fetchone()[0]


def main() -> int:
    args = _parse()
    env = _environment(args)
    _prepare(args, env)
    users = _users()
    cases = _cases(users, args.requests)
    server = Gunicorn(args, env)
    failed = []
    try:
        server.wait_ready()
        print(_facts())
        print(f"gunicorn -w {args.workers}, {args.requests} requests per row, sequential")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"{'':40} {'n':>3} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'target':>7}")
        for label, urls, headers, target, client in cases:
            times = _measure(args.port, urls, headers, args.requests, target)
            p95 = _pct(times, 0.95)
            ok = p95 <= target
            p50, worst = statistics.median(times), max(times)
            print(
                f"{label:40} {len(times):3} {p50:8.1f} {p95:8.1f} {worst:8.1f} "
                f"{'≤' + str(int(target)):>7} {'pass' if ok else 'FAIL'}",
                flush=True,
            )
            if not ok:
                failed.append((label, urls[0], headers, client))
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        server.stop()
    for label, url, headers, client in failed:
        print(f"-- {label}: {url}")
        _slowest_sql(client, url, headers, args.explain)
    print("all pass" if not failed else f"{len(failed)} row(s) over target")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
