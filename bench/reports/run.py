"""Reports at scale: the 数据看板 and the summary API over a 30-day range, p50/p95.

    .venv/bin/python bench/reports/run.py [--tickets 1000000] [--requests 30] [--skip-seed]

PostgreSQL database `fapiao_bench_reports` (127.0.0.1:5432) by default: migrated, seeded with
`manage.py seed_demo` up to --tickets (a year), then with the bot's traffic around them
(bench/reports/seed_traffic.py: every ticket's conversation and `--deflected` times as
many the bot handled, checks, ratings, suggestions), then the rollups
(`manage.py reports_rebuild`, the beat task's work at once). gunicorn serves the product
(DEBUG off, whitenoise, Redis); one keep-alive connection times each URL, one request at
a time, three warm-up requests first. Targets: dashboard ≤ 1 s p95, summary ≤ 300 ms
p95. Exit status 0 only when both pass.
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
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
TARGETS = {"dashboard": 1000.0, "summary": 300.0}


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365, help="seed over this many days")
    parser.add_argument("--deflected", type=float, default=2.5, help="bot-only per escalated")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/fapiao_bench_reports"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--skip-seed", action="store_true", help="measure what is there")
    parser.add_argument(
        "--rebuild-days", type=int, default=32, help="rollups built before measuring (0: all)"
    )
    return parser.parse_args()


def _environment(args) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "support.settings",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CELERY_BROKER_URL": args.broker_url,
        "CACHE_KEY_PREFIX": "reports-bench",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-" + secrets.token_urlsafe(40),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_STATIC_ROOT": "/tmp/fapiao-reports-bench-static",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    return env


def _manage(env, *argv: str) -> float:
    started = time.perf_counter()
    subprocess.run([PYTHON, "manage.py", *argv], cwd=ROOT, env=env, check=True)
    return time.perf_counter() - started


def _database_create(url: str) -> None:
    """Create the benchmark's database when it is missing (trust auth on loopback)."""
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')  # a name from our own flag


def _prepare(args, env) -> None:
    _database_create(args.database_url)
    _manage(env, "migrate", "-v0")
    _manage(env, "collectstatic", "--noinput", "-v0")
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from bot.conversations.models import Message
    from tickets.models import Ticket

    if args.skip_seed:
        return
    have = Ticket.objects.count()
    if have < args.tickets:
        took = _manage(env, "seed_demo", "--tickets", str(args.tickets - have),
                       "--days", str(args.days))  # fmt: skip
        print(f"seed_demo: {args.tickets - have} tickets in {took:.0f} s")
    if not Message.objects.exists():
        from bench.reports.seed_traffic import seed

        started = time.perf_counter()
        counts = seed(days=args.days, deflected=args.deflected, progress=True)
        print(f"seed_traffic: {counts} in {time.perf_counter() - started:.0f} s")
    # The beat task keeps the rollups day by day; at once, a year of 1M tickets takes
    # about 35 minutes, so only the days measured are built (--rebuild-days 0: all).
    days = ["--days", str(args.rebuild_days)] if args.rebuild_days else []
    took = _manage(env, "reports_rebuild", *days)
    print(f"reports_rebuild {' '.join(days)}: {took:.0f} s")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def _measure(port: int, url: str, headers: dict, count: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times = []
    for k in range(count + 3):
        started = time.perf_counter()
        conn.request("GET", url, headers=headers)
        response = conn.getresponse()
        body = response.read()
        took = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise SystemExit(f"{url}: HTTP {response.status} {body[:300]!r}")
        if k >= 3:
            times.append(took)
    conn.close()
    return times


def _supervisor():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client
    from knox.models import AuthToken

    user, _ = get_user_model().objects.get_or_create(
        username="bench-boss", defaults={"is_staff": True}
    )
    user.groups.add(Group.objects.get(name="主管"))
    client = Client()
    client.force_login(user)
    token = AuthToken.objects.create(user=user)[1]
    return {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}, {
        "Authorization": f"Token {token}"
    }


def main() -> int:
    args = _parse()
    env = _environment(args)
    _prepare(args, env)
    from django.db import connection
    from django.utils import timezone

    from bot.conversations.models import Message
    from bot.reports.definitions import day_of
    from bot.reports.models import ReportConversation, RollupDay
    from tickets.models import Ticket

    today = day_of(timezone.now())
    start = (today - timedelta(days=29)).isoformat()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    print(
        f"database: {Ticket.objects.count()} tickets, {Message.objects.count()} messages, "
        f"{ReportConversation.objects.count()} conversations built over "
        f"{RollupDay.objects.count()} days, {size}"
    )
    session, token = _supervisor()
    gunicorn = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "support.wsgi", "-w", str(args.workers),
         "-b", f"127.0.0.1:{args.port}", "--log-level", "warning", "--timeout", "120"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        for _ in range(150):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=2)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.2)
        period = f"start={start}&end={today.isoformat()}"
        rows = [
            ("dashboard", "dashboard, 30 days (today live)", f"/admin/reports/?{period}", session),
            ("dashboard", "dashboard, 30 days, queue verify",
             f"/admin/reports/?{period}&queue=verify", session),
            ("summary", "summary API, 30 days", f"/api/reports/summary/?{period}", token),
            ("summary", "summary API, 30 days, queue complaint",
             f"/api/reports/summary/?{period}&queue=complaint", token),
            (None, "unanswered API, 30 days", f"/api/reports/unanswered/?{period}", token),
            (None, "drill-down: escalated, 30 days",
             f"/admin/reports/drill/?{period}&kind=conversations&figure=escalated", session),
        ]  # fmt: skip
        print(f"\n{'what':44} {'n':>3} {'p50 ms':>9} {'p95 ms':>9} {'target':>8}  result")
        ok = True
        for kind, label, url, headers in rows:
            times = _measure(args.port, url, headers, args.requests if kind else 5)
            p50, p95 = statistics.median(times), _pct(times, 0.95)
            target = TARGETS.get(kind)
            passed = target is None or p95 <= target
            ok &= passed
            verdict = "—" if target is None else ("pass" if passed else "FAIL")
            shown = f"{target:.0f}" if target else "—"
            print(f"{label:44} {len(times):>3} {p50:>9.1f} {p95:>9.1f} {shown:>8}  {verdict}")
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=20)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
