"""Load `/wechat/` with signed text messages and compare it with a bare WeRoBot bot.

Both apps run under the same gunicorn configuration and get the same wrk load
(`wechat.lua`: every request a new MsgId and FromUserName, realistic Chinese
questions). Ours runs on PostgreSQL + Redis and persists every message; afterwards
the messages wrk saw answered are checked against the inbound rows of the run.

    .venv/bin/python bench/webhook/run.py [--duration 20] [--connections 16]
        [--config 4 2x4] [--repeat 3] [--fresh-db]

Needs wrk on PATH, PostgreSQL and Redis on loopback. Every process it starts is
stopped on exit, on failure and on Ctrl-C. Exit status 0 only when every run meets
the target (ratio >= 0.5, p99 < 100 ms, every answer persisted, no errors).
"""

import argparse
import atexit
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # a sibling module: bench/ is not a package

HERE = harness.HERE
ROOT = HERE.parents[1]
VENV_BIN = Path(sys.executable).parent

TARGET_P99_MS = 100.0
TARGET_RATIO = 0.5
MAX_SIGNED_SECONDS = 280  # our webhook refuses timestamps more than 5 minutes old


@dataclass(frozen=True)
class ServerConfig:
    """gunicorn workers, and threads per worker (1 = sync worker, more = gthread)."""

    workers: int
    threads: int = 1

    @classmethod
    def parse(cls, text: str) -> "ServerConfig":
        workers, _, threads = text.partition("x")
        return cls(workers=int(workers), threads=int(threads or 1))

    @property
    def label(self) -> str:
        if self.threads == 1:
            return f"sync -w {self.workers}"
        return f"gthread -w {self.workers} --threads {self.threads}"

    @property
    def slug(self) -> str:
        return f"{self.workers}x{self.threads}"

    def gunicorn_args(self) -> list[str]:
        args = ["-w", str(self.workers)]
        if self.threads > 1:
            args += ["-k", "gthread", "--threads", str(self.threads)]
        return args


@dataclass(frozen=True)
class App:
    name: str
    wsgi: str
    cwd: Path
    ready_path: str  # any HTTP answer on it means the workers are up
    stage: str = ""  # a ladder stage (ladder_app.py), set as LADDER_STAGE


@dataclass
class Result:
    app: str
    config: ServerConfig
    load: harness.Load
    app_cpu_ms: float  # gunicorn workers' CPU per answered request
    db_cpu_ms: float  # PostgreSQL backends' CPU per answered request (ours only)
    persistence: harness.Persistence | None = None
    dialog_failures: int = 0  # "dialog failed" in the server log: the user got an apology
    commits_per_message: float | None = None  # PostgreSQL commits per answered message


def _environment(args: argparse.Namespace, token: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="support.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_LOG_LEVEL="WARNING",
        DATABASE_URL=f"{args.pg}/{args.db}",
        REDIS_URL=args.redis,
        CELERY_BROKER_URL=args.broker,
        WECHAT_TOKEN=token,
        WECHAT_APP_ID="wx0000000000benchmark",
        WECHAT_ENCODING_AES_KEY="",
        WECHAT_APP_SECRET="",
        PYTHONUNBUFFERED="1",
        PYTHONWARNINGS="ignore",
    )
    return env


def _database_prepare(args: argparse.Namespace, env: dict[str, str]) -> None:
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        if args.fresh_db:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.db]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{args.db}"')
    with (args.logs / "migrate.log").open("wb") as out:
        subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=600,
        )


def _round_trips(args: argparse.Namespace, env: dict[str, str]) -> list[dict]:
    """SQL statements and cache commands of one message (roundtrips.py), machine-independent."""
    done = subprocess.run(
        [str(VENV_BIN / "python"), str(HERE / "roundtrips.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    (args.logs / "roundtrips.txt").write_text(done.stdout + done.stderr)
    prefix = "ROUNDTRIPS "
    return [
        json.loads(line[len(prefix) :])
        for line in done.stdout.splitlines()
        if line.startswith(prefix)
    ]


def _bench_one(
    args: argparse.Namespace, app: App, config: ServerConfig, env: dict[str, str], run: int
) -> Result:
    """Start gunicorn for one app, probe, warm up, measure, stop; then check the rows."""
    port = harness.free_port()
    name = f"{app.name}-{config.slug}-{run}"
    cmd = [
        str(VENV_BIN / "gunicorn"),
        app.wsgi,
        *config.gunicorn_args(),
        "-b",
        f"127.0.0.1:{port}",
        "--backlog",
        "2048",
        "--timeout",
        "30",
        "--graceful-timeout",
        "10",
        "--log-level",
        "warning",
    ]
    dsn = f"{args.pg}/{args.db}"
    answers = args.logs / "answers"
    answers.mkdir(exist_ok=True)
    app_env = {**env, "LADDER_STAGE": app.stage} if app.stage else env
    server = harness.spawn(cmd, env=app_env, cwd=app.cwd, log=args.logs / f"{name}.log")
    try:
        harness.wait_ready(port, app.ready_path, server)
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(5)
        auth = [harness.signature(env["WECHAT_TOKEN"], timestamp, nonce), timestamp, nonce]
        query = f"/wechat/?signature={auth[0]}&timestamp={timestamp}&nonce={nonce}&openid="
        harness.probe(port, query, harness.new_tag())
        wrk = dict(
            port=port,
            auth=auth,
            connections=args.connections,
            threads=args.wrk_threads,
            answers_dir=answers,
            followers=args.followers,
            pool=harness.new_tag(),
        )
        if args.warmup:
            harness.run_wrk(tag=harness.new_tag(), seconds=args.warmup, **wrk)
        tag = harness.new_tag()
        workers = harness.worker_pids(server.pid)
        backends = harness.backend_pids(dsn) if app.name == "ours" else []
        app_before, db_before = harness.CpuSample.of(workers), harness.CpuSample.of(backends)
        commits_before = harness.commits(dsn) if app.name == "ours" else 0
        load = harness.run_wrk(tag=tag, seconds=args.duration, **wrk)
        workers = harness.worker_pids(server.pid)
        backends = harness.backend_pids(dsn) if app.name == "ours" else []
        app_cpu = harness.CpuSample.of(workers).since(app_before)
        db_cpu = harness.CpuSample.of(backends).since(db_before)
        (args.logs / f"wrk-{name}.txt").write_text(load.raw)
    finally:
        # Graceful stop: requests still in flight when wrk quit finish before we count.
        harness.stop(server)
    answered = max(load.ok, 1)
    result = Result(
        app=app.name,
        config=config,
        load=load,
        app_cpu_ms=app_cpu * 1000 / answered,
        db_cpu_ms=db_cpu * 1000 / answered,
    )
    if app.name == "ours":
        # Read after the stop: also the requests in flight at the end, a few too many.
        result.commits_per_message = (harness.commits(dsn) - commits_before) / answered
        result.persistence = harness.persistence_check(dsn, answers, tag)
        harness.settle(dsn)
        log = (args.logs / f"{name}.log").read_text(errors="replace")
        result.dialog_failures = log.count("dialog failed for message")
    return result


def _meets(ours: Result, base: Result) -> bool:
    ld, kept = ours.load, ours.persistence
    return (
        ld.rps / base.load.rps >= TARGET_RATIO
        and ld.p99_ms < TARGET_P99_MS
        and kept is not None
        and kept.every_answer_persisted
        and ld.non2xx == 0
        and ld.socket_errors == 0
        and ld.other_replies == 0
        and ours.dialog_failures == 0
    )


def _report(
    pairs: list[tuple[int, Result, Result]], trips: list[dict], args: argparse.Namespace
) -> bool:
    load1, load5, _ = os.getloadavg()
    print()
    for case in trips:
        sql = ", ".join(f"{n} {kind}" for kind, n in case["sql_kinds"].items())
        cache = ", ".join(f"{n} {kind}" for kind, n in case["cache_kinds"].items())
        print(
            f"ours, one message from a {case['case']}: {case['sql']} SQL round trips ({sql}) "
            f"+ 1 connection health check under gunicorn; {case['cache']} cache commands ({cache})"
        )
    senders = f"a pool of {args.followers} followers" if args.followers else "new followers"
    print(
        f"senders: {senders}; "
        f"wrk: {args.connections} connections, {args.wrk_threads} thread(s), "
        f"{args.duration} s measured after {args.warmup} s warm-up; {os.cpu_count()} CPUs, "
        f"load average now {load1:.1f} (1 min) {load5:.1f} (5 min)"
    )
    header = (
        f"{'run':<4} {'gunicorn':<24} {'app':<8} {'req/s':>8} {'p50 ms':>7} {'p90 ms':>7} "
        f"{'p99 ms':>7} {'max ms':>7} {'errors':>6} {'cpu ms/req app':>14} {'db':>5}"
    )
    print(header)
    print("-" * len(header))
    all_good = True
    for run, ours, base in pairs:
        for res in (ours, base):
            ld = res.load
            errors = ld.non2xx + ld.socket_errors + ld.other_replies + res.dialog_failures
            db = f"{res.db_cpu_ms:5.2f}" if res.app == "ours" else f"{'-':>5}"
            print(
                f"{run:<4} {res.config.label:<24} {res.app:<8} {ld.rps:>8.1f} {ld.p50_ms:>7.1f} "
                f"{ld.p90_ms:>7.1f} {ld.p99_ms:>7.1f} {ld.max_ms:>7.0f} {errors:>6} "
                f"{res.app_cpu_ms:>14.2f} {db}"
            )
        ratio = ours.load.rps / base.load.rps if base.load.rps else 0.0
        cost_ratio = base.app_cpu_ms / (ours.app_cpu_ms + ours.db_cpu_ms)
        kept = ours.persistence
        meets = _meets(ours, base)
        all_good &= meets
        pad = " " * 30
        print(
            f"{pad}ratio ours/WeRoBot {ratio:.2f} (target >= {TARGET_RATIO}); "
            f"ours p99 {ours.load.p99_ms:.1f} ms (target < {TARGET_P99_MS:.0f}); "
            f"CPU-cost ratio {cost_ratio:.2f}; "
            f"PostgreSQL commits per message {ours.commits_per_message or 0:.2f}"
        )
        assert kept is not None
        print(
            f"{pad}persisted: {kept.rows} inbound rows, {kept.replies} stored replies; "
            f"{kept.answered} text answers seen by wrk, {kept.missing} of them without a row"
            f" ({'every answer persisted' if kept.every_answer_persisted else 'MISSING ROWS'});"
            f" {kept.unanswered_rows} rows for requests in flight when wrk stopped"
        )
        print(f"{pad}{'MEETS' if meets else 'MISSES'} the target")
        print("-" * len(header))
    if len(pairs) > 1:
        ratios = [o.load.rps / b.load.rps for _, o, b in pairs]
        p99s = [o.load.p99_ms for _, o, _ in pairs]
        print(
            f"over {len(pairs)} runs: ratio median {statistics.median(ratios):.2f} "
            f"(min {min(ratios):.2f}, max {max(ratios):.2f}); ours p99 median "
            f"{statistics.median(p99s):.1f} ms (min {min(p99s):.1f}, max {max(p99s):.1f})"
        )
    return all_good


LADDER_STAGES = ("echo", "dedup", "nlu")
LADDER_WHAT = {
    "echo": "Django + signature + XML + reply, fixed text",
    "dedup": "+ Redis dedup claim and outcome",
    "nlu": "+ NLU and its memory (all but storing)",
}


def _ladder_app(stage: str) -> App:
    return App(
        name=f"ladder-{stage}",
        wsgi="ladder_app:application",
        cwd=HERE,
        ready_path="/healthz",
        stage=stage,
    )


def _report_ladder(ladder: list[tuple[int, "Result"]], pairs) -> None:
    """Where the ratio goes: each stage's throughput and CPU against WeRoBot's."""
    print()
    print("ladder: our webhook with its work cut down (bench/webhook/ladder_app.py)")
    header = (
        f"{'run':<4} {'stage':<8} {'what':<44} {'req/s':>8} {'p99 ms':>7} "
        f"{'cpu ms/req':>10} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for run, mine, base in pairs:
        print(f"{run:<4} {mine.config.label}")
        print(
            f"{run:<4} {'werobot':<8} {'the baseline':<44} {base.load.rps:>8.1f} "
            f"{base.load.p99_ms:>7.1f} {base.app_cpu_ms:>10.2f} {1.0:>6.2f}"
        )
        for stage_run, res in ladder:
            if stage_run != run or res.config != mine.config:
                continue
            stage = res.app.removeprefix("ladder-")
            print(
                f"{run:<4} {stage:<8} {LADDER_WHAT[stage]:<44} {res.load.rps:>8.1f} "
                f"{res.load.p99_ms:>7.1f} {res.app_cpu_ms:>10.2f} "
                f"{res.load.rps / base.load.rps:>6.2f}"
            )
        print(
            f"{run:<4} {'product':<8} {'+ storing (the whole product)':<44} "
            f"{mine.load.rps:>8.1f} {mine.load.p99_ms:>7.1f} "
            f"{mine.app_cpu_ms + mine.db_cpu_ms:>10.2f} {mine.load.rps / base.load.rps:>6.2f}"
        )
        print("-" * len(header))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="measured seconds per server")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up seconds per server")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads")
    parser.add_argument(
        "--followers",
        type=int,
        default=250,
        help="senders: a pool of this many followers (0: every message from a new one)",
    )
    parser.add_argument(
        "--config",
        nargs="+",
        default=["2x4"],
        help="gunicorn configs: WORKERS (sync) or WORKERSxTHREADS (gthread); default 2x4",
    )
    parser.add_argument("--repeat", type=int, default=1, help="run every config this often")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="server")
    parser.add_argument("--db", default="fapiao_bench", help="bench database (created)")
    parser.add_argument("--fresh-db", action="store_true", help="drop the database first")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13", help="cache")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14", help="Celery broker")
    parser.add_argument("--logs", type=Path, default=HERE / "logs", help="wrk output, logs")
    parser.add_argument(
        "--ladder",
        action="store_true",
        help="also run our app with its work cut down stage by stage (ladder_app.py)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        parser.error("wrk is not on PATH (apt-get install wrk)")
    if args.warmup + args.duration > MAX_SIGNED_SECONDS:
        parser.error(f"--warmup + --duration must stay under {MAX_SIGNED_SECONDS} s")
    configs = [ServerConfig.parse(text) for text in args.config]
    args.logs.mkdir(parents=True, exist_ok=True)
    (args.logs / ".gitignore").write_text("*\n")
    shutil.rmtree(args.logs / "answers", ignore_errors=True)

    atexit.register(harness.stop_all)

    def on_signal(signum, _frame):
        harness.stop_all()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    env = _environment(args, token=secrets.token_hex(16))
    ours = App(name="ours", wsgi="support.wsgi:application", cwd=ROOT, ready_path="/healthz")
    werobot = App(name="werobot", wsgi="werobot_app:application", cwd=HERE, ready_path="/")

    print(f"preparing {args.db} (create if missing, migrate) ...", flush=True)
    _database_prepare(args, env)
    trips = _round_trips(args, env)
    pairs, ladder = [], []
    try:
        for run in range(1, args.repeat + 1):
            for config in configs:
                print(f"run {run}, {config.label}: ours ...", flush=True)
                mine = _bench_one(args, ours, config, env, run)
                print(f"run {run}, {config.label}: werobot ...", flush=True)
                base = _bench_one(args, werobot, config, env, run)
                pairs.append((run, mine, base))
                if args.ladder:
                    for stage in LADDER_STAGES:
                        print(f"run {run}, {config.label}: ladder stage {stage} ...", flush=True)
                        result = _bench_one(args, _ladder_app(stage), config, env, run)
                        ladder.append((run, result))
    finally:
        harness.stop_all()
    good = _report(pairs, trips, args)
    if ladder:
        _report_ladder(ladder, pairs)
    print(f"raw wrk output and server logs: {args.logs}")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
