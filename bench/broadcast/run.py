"""One broadcast to many followers through real Celery workers, then the same with a worker killed.

    .venv/bin/python bench/broadcast/run.py [--followers 100000] [--workers 2]
        [--concurrency 4] [--latency-ms 5] [--kill-at 0.4] [--skip-clean-run]

Starts a fast local fake WeChat API (fake_server.py, ~5 ms per send, counts
deliveries per openid and drops repeats of an (openid, client_msg_id) pair like
WeChat does), `--workers` Celery worker processes (prefork, `--concurrency` each)
on PostgreSQL database fapiao_broadcast_bench and Redis db 11 (cache) / 12
(broker). The driver itself stands in for celery beat: it queues
`recover_notices` every `--recover-every` seconds, as the beat entry does.

Run 1 measures notices/s from `broadcast_start` to status `done`. Run 2 sends
SIGKILL to one worker's whole process group when `--kill-at` of the followers
have been reached, restarts it, and checks at the fake server that every
follower received the broadcast exactly once. Every process started here is
stopped on exit.
"""

import argparse
import atexit
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PYTHON = sys.executable
DB_NAME = "fapiao_broadcast_bench"
PG = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379"

children: list[subprocess.Popen] = []


def _stop_all() -> None:
    for proc in children:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
    deadline = time.monotonic() + 15
    for proc in children:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _spawn(args: list[str], env: dict) -> subprocess.Popen:
    proc = subprocess.Popen(args, env=env, cwd=ROOT, start_new_session=True)
    children.append(proc)
    return proc


def _cpu_snapshot() -> dict[int, tuple[str, float]]:
    """pid -> (group, CPU seconds) for our process groups and all postgres / redis processes."""
    ours = {proc.pid for proc in children}
    fake_pid = children[0].pid if children else None
    tick = os.sysconf("SC_CLK_TCK")
    snapshot = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        session, used = int(fields[3]), (int(fields[11]) + int(fields[12])) / tick
        if session == fake_pid:
            group = "fake_api"
        elif session in ours:
            group = "workers"
        elif comm.startswith("postgres"):
            group = "postgres"
        elif comm.startswith("redis-server"):
            group = "redis"
        else:
            continue
        snapshot[int(entry.name)] = (group, used)
    return snapshot


class CpuMeter:
    """CPU used during a run, per group, including processes killed or started meanwhile."""

    def __init__(self) -> None:
        self.first = {pid: used for pid, (_, used) in _cpu_snapshot().items()}
        self.last: dict[int, tuple[str, float]] = {}
        self.sample()

    def sample(self) -> None:
        self.last.update(_cpu_snapshot())

    def totals(self) -> dict[str, float]:
        self.sample()
        totals = {"workers": 0.0, "fake_api": 0.0, "postgres": 0.0, "redis": 0.0}
        for pid, (group, used) in self.last.items():
            totals[group] += used - self.first.get(pid, 0.0)
        return {k: round(v, 1) for k, v in totals.items()}


def _http(base: str, path: str, method: str = "GET") -> dict:
    request = urllib.request.Request(
        base + path, method=method, data=b"" if method == "POST" else None
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _start_fake(latency_ms: float) -> str:
    port_file = Path(f"/tmp/fapiao-broadcast-bench-{os.getpid()}.port")
    port_file.unlink(missing_ok=True)
    _spawn(
        [
            PYTHON,
            str(HERE / "fake_server.py"),
            "--latency-ms",
            str(latency_ms),
            "--port-file",
            str(port_file),
        ],
        dict(os.environ),
    )
    for _ in range(100):
        if port_file.exists() and port_file.read_text():
            port = port_file.read_text()
            port_file.unlink()
            return f"http://127.0.0.1:{port}"
        time.sleep(0.05)
    raise SystemExit("fake WeChat API did not start")


def _worker_args(name: str, concurrency: int) -> list[str]:
    return [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "support",
        "--quiet",
        "worker",
        "-P",
        "prefork",
        "-c",
        str(concurrency),
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-l",
        "warning",
        "-n",
        f"{name}@%h",
    ]


def _wait_workers(app, count: int, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=0.5) or []) >= count:
            return
    raise SystemExit("workers did not start")


def _prepare(followers: int) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    import django

    django.setup()
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from bot.conversations.models import Follower
    from bot.notices.models import NoticeTemplate

    call_command("migrate", verbosity=0)
    if Follower.objects.filter(openid__startswith="bench-").count() != followers:
        _truncate()
        Follower.objects.filter(openid__startswith="bench-").delete()
        quiet = timezone.now() - timedelta(days=3)  # outside 48 h: template messages
        Follower.objects.bulk_create(
            (
                Follower(openid=f"bench-{i:06d}", subscribed=True, last_interaction_at=quiet)
                for i in range(followers)
            ),
            batch_size=5000,
        )
    NoticeTemplate.objects.update_or_create(
        kind="broadcast",
        defaults={
            "template_id": "TPL-BENCH",
            "field_mapping": {"thing1": "{title}", "thing2": "{text}"},
        },
    )


def _truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE notices_notice, notices_broadcast, wechat_message CASCADE")


def _flush_redis() -> None:
    import redis

    for db in (11, 12):
        redis.Redis.from_url(f"{REDIS}/{db}").flushdb()


def _run(label: str, *, fake: str, app, workers: list, args, kill: bool) -> dict:
    from django.db import transaction
    from django.db.models import Count

    from bot.notices import broadcasts
    from bot.notices.models import Broadcast, Notice
    from bot.notices.tasks import recover_notices

    _truncate()
    _http(fake, "/reset", "POST")
    print(
        f"\n== {label}: {args.followers} followers, {args.workers} workers x "
        f"{args.concurrency} processes, fake API {args.latency_ms} ms",
        flush=True,
    )
    cpu_meter = CpuMeter()
    started = time.time()
    with transaction.atomic():
        broadcast = broadcasts.broadcast_create(
            text="【系统维护】今晚22:00至24:00查验服务暂停", audience="all"
        )
        broadcasts.broadcast_start(broadcast_id=broadcast.pk)
    killed_at = restarted_at = in_flight = None
    last_recover = time.monotonic()
    last_print = 0.0
    while True:
        time.sleep(0.5)
        stats = _http(fake, "/stats")
        cpu_meter.sample()
        status = Broadcast.objects.values_list("status", flat=True).get(pk=broadcast.pk)
        now = time.monotonic()
        if now - last_print >= 5:
            print(
                f"  t={time.time() - started:6.1f}s delivered={stats['delivered']:>7} "
                f"requests={stats['requests']:>7} status={status}",
                flush=True,
            )
            last_print = now
        if now - last_recover >= args.recover_every:
            recover_notices.delay()
            last_recover = now
        if kill and killed_at is None and stats["delivered"] >= args.kill_at * args.followers:
            victim = workers[0]
            cpu_meter.sample()
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait()
            killed_at = time.time() - started
            in_flight = Notice.objects.filter(broadcast=broadcast, status="sending").count()
            print(
                f"  kill -9 worker 0 (pid {victim.pid}) at t={killed_at:.1f}s, "
                f"delivered={stats['delivered']}, notices in sending={in_flight}",
                flush=True,
            )
            time.sleep(1.0)
            workers[0] = _spawn(_worker_args("bench0", args.concurrency), workers_env)
            _wait_workers(app, args.workers)
            restarted_at = time.time() - started
            print(f"  worker 0 restarted at t={restarted_at:.1f}s", flush=True)
        if status in ("done", "cancelled", "failed"):
            break
        if time.time() - started > args.timeout:
            print("  TIMEOUT", flush=True)
            break
    elapsed = time.time() - started
    cpu = cpu_meter.totals()
    stats = _http(fake, "/stats")
    by_status = dict(
        Notice.objects.filter(broadcast=broadcast).values_list("status").annotate(n=Count("pk"))
    )
    span = (stats["last_delivery"] or 0) - (stats["first_delivery"] or 0)
    exactly_once = stats["openids"] == args.followers and stats["openids_by_count"] == {
        "1": args.followers
    }
    result = {
        "run": label,
        "followers": args.followers,
        "seconds": round(elapsed, 2),
        "notices_per_second": round(args.followers / elapsed, 1),
        "delivery_span_seconds": round(span, 2),
        "delivery_rate": round(stats["delivered"] / span, 1) if span else None,
        "fake_server": stats,
        "notice_status": by_status,
        "killed_at": killed_at,
        "restarted_at": restarted_at,
        "sending_at_kill": in_flight,  # both workers' claims at that moment
        "exactly_once": exactly_once,
        # postgres and redis include whatever else the machine runs meanwhile.
        "cpu_seconds": cpu,
        "cpu_ms_per_notice": round(1000 * sum(cpu.values()) / args.followers, 2),
        "loadavg": os.getloadavg(),
    }
    print(json.dumps(result, ensure_ascii=False, indent=2), flush=True)
    return result


workers_env: dict = {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--followers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--kill-at", type=float, default=0.4)
    parser.add_argument("--rate", type=float, default=5000.0, help="NOTICES_RATE_PER_SECOND")
    parser.add_argument("--chunk", type=int, default=200, help="NOTICES_CHUNK_SIZE")
    parser.add_argument("--lease", type=int, default=10, help="NOTICES_CLAIM_LEASE_SECONDS")
    parser.add_argument("--recover-every", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--skip-clean-run", action="store_true")
    parser.add_argument("--skip-kill-run", action="store_true")
    args = parser.parse_args()

    atexit.register(_stop_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    fake = _start_fake(args.latency_ms)
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="support.settings",
        DJANGO_DEBUG="1",
        DJANGO_LOG_LEVEL="WARNING",
        DATABASE_URL=f"{PG}/{DB_NAME}",
        REDIS_URL=f"{REDIS}/11",
        CELERY_BROKER_URL=f"{REDIS}/12",
        WECHAT_APP_ID="wxbench",
        WECHAT_APP_SECRET="bench-secret",
        WECHAT_API_BASE_URL=fake,
        NOTICES_RATE_PER_SECOND=str(args.rate),
        NOTICES_CHUNK_SIZE=str(args.chunk),
        NOTICES_CLAIM_LEASE_SECONDS=str(args.lease),
    )
    os.environ.update(env)
    workers_env.update(env)
    sys.path.insert(0, str(ROOT))
    _flush_redis()
    t = time.time()
    _prepare(args.followers)
    print(f"prepared {args.followers} followers in {time.time() - t:.1f}s", flush=True)

    from support.celery import app

    workers = [
        _spawn(_worker_args(f"bench{i}", args.concurrency), env) for i in range(args.workers)
    ]
    _wait_workers(app, args.workers)
    results = []
    if not args.skip_clean_run:
        results.append(
            _run("clean run", fake=fake, app=app, workers=workers, args=args, kill=False)
        )
    if not args.skip_kill_run:
        results.append(
            _run("worker killed mid-way", fake=fake, app=app, workers=workers, args=args, kill=True)
        )
    print("\n== summary")
    for r in results:
        print(
            f"{r['run']}: {r['followers']} notices in {r['seconds']} s = "
            f"{r['notices_per_second']} notices/s (delivery {r['delivery_rate']}/s); "
            f"exactly once per follower: {r['exactly_once']}; "
            f"repeats dropped by client_msg_id: {r['fake_server']['suppressed_repeats']}; "
            f"notice states: {r['notice_status']}; "
            f"CPU {r['cpu_ms_per_notice']} ms/notice {r['cpu_seconds']}"
        )
    return 0 if all(r["exactly_once"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
