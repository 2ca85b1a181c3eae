"""Load `/wechat/` with signed text messages and compare it with a same-job peer and WeRoBot.

Three apps run under the same gunicorn configuration and get the same wrk load
(`wechat.lua`: every request a new MsgId, realistic Chinese questions): ours
(PostgreSQL + Redis, persists every message), the same-job peer (`peer_app.py`: a
WeRoBot bot with jieba keyword answers that stores follower, message and reply in one
PostgreSQL transaction, deduplicated by a unique constraint) and the far anchor
(`werobot_app.py`: a bare WeRoBot echo bot, nothing stored). Afterwards the messages
wrk saw answered are checked against the inbound rows of the run, ours and the peer's.

    .venv/bin/python bench/webhook/run.py [--duration 20] [--connections 16]
        [--config 4 2x4] [--repeat 3] [--fresh-db] [--both-modes] [--apps ...]

Needs wrk on PATH, PostgreSQL and Redis on loopback. Every process it starts is
stopped on exit, on failure and on Ctrl-C. Exit status 0 only when every run meets
the goals: ours >= 1.0x the peer for returning followers (>= 0.5x when every message
comes from a new follower), ours' p99 < 100 ms, every answer persisted, no errors
(and a valid peer run: all its answers persisted, no errors). The ratio to bare
WeRoBot is printed as information.
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
TARGET_PEER_RETURNING = 1.0  # ours/peer, a pool of returning followers (--followers N)
TARGET_PEER_NEW = 0.5  # ours/peer, every message from a new follower (--followers 0)
WEROBOT_TARGET_RATIO = 0.5  # the old target against bare WeRoBot: information only
APP_NAMES = ("ours", "werobot", "peer")  # also the order they run and are printed in
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
    store: str = ""  # whose tables it writes (harness.TABLES): "ours", "peer"; "" = none
    failure_marker: str = ""  # a server-log line meaning a message got no proper answer


@dataclass
class Result:
    app: str
    config: ServerConfig
    load: harness.Load
    app_cpu_ms: float  # gunicorn workers' CPU per answered request
    db_cpu_ms: float  # PostgreSQL backends' CPU per answered request (storing apps only)
    persistence: harness.Persistence | None = None
    dialog_failures: int = 0  # App.failure_marker in the server log (ours: an apology)
    commits_per_message: float | None = None  # PostgreSQL commits per answered message

    @property
    def errors(self) -> int:
        ld = self.load
        return ld.non2xx + ld.socket_errors + ld.other_replies + self.dialog_failures

    @property
    def cpu_ms(self) -> float:
        """App + database CPU per answered request."""
        return self.app_cpu_ms + self.db_cpu_ms


@dataclass
class Failure:
    """An app that could not be measured (did not start, failed its probe, wrk failed)."""

    app: str
    config: ServerConfig
    reason: str


@dataclass
class Entry:
    """One gunicorn configuration, one follower mode, one repetition: every app's outcome."""

    run: int
    followers: int
    config: ServerConfig
    outcomes: dict[str, "Result | Failure"]

    def result(self, name: str) -> Result | None:
        outcome = self.outcomes.get(name)
        return outcome if isinstance(outcome, Result) else None


def _environment(args: argparse.Namespace, token: str) -> dict[str, str]:
    return {
        **os.environ,
        **harness.app_environment(
            database_url=f"{args.pg}/{args.db}", redis=args.redis, broker=args.broker, token=token
        ),
    }


def _database_prepare(args: argparse.Namespace, env: dict[str, str], migrate: bool) -> None:
    """Create the database if missing; migrate it when ours is to run (the peer creates its
    own tables)."""
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        if args.fresh_db:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.db]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{args.db}"')
    if not migrate:
        return
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


def _log_name(
    args: argparse.Namespace, app: App, config: ServerConfig, run: int, followers: int
) -> str:
    # The --followers N run keeps the names of old; the all-new run of --both-modes gets -f0.
    suffix = "" if followers == args.followers else f"-f{followers}"
    return f"{app.name}-{config.slug}-{run}{suffix}"


def _bench_one(
    args: argparse.Namespace,
    app: App,
    config: ServerConfig,
    env: dict[str, str],
    run: int,
    followers: int,
) -> Result:
    """Start gunicorn for one app, probe, warm up, measure, stop; then check the rows."""
    port = harness.free_port()
    name = _log_name(args, app, config, run, followers)
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
    if app.store == "peer":
        harness.peer_reset(dsn)  # every peer run starts from empty tables
    server = harness.spawn(cmd, env=app_env, cwd=app.cwd, log=args.logs / f"{name}.log")
    try:
        harness.wait_ready(port, app.ready_path, server)
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(5)
        sig = harness.signature(env["WECHAT_TOKEN"], timestamp, nonce)
        query = f"/wechat/?signature={sig}&timestamp={timestamp}&nonce={nonce}&openid="
        harness.probe(port, query, harness.new_tag())
        wrk = dict(
            port=port,
            token=env["WECHAT_TOKEN"],
            connections=args.connections,
            threads=args.wrk_threads,
            answers_dir=answers,
            followers=followers,
            pool=harness.new_tag(),
        )
        if args.warmup:
            harness.run_wrk(tag=harness.new_tag(), seconds=args.warmup, **wrk)
        tag = harness.new_tag()
        workers = harness.worker_pids(server.pid)
        backends = harness.backend_pids(dsn) if app.store else []
        app_before, db_before = harness.CpuSample.of(workers), harness.CpuSample.of(backends)
        commits_before = harness.commits(dsn) if app.store else 0
        load = harness.run_wrk(tag=tag, seconds=args.duration, **wrk)
        workers = harness.worker_pids(server.pid)
        backends = harness.backend_pids(dsn) if app.store else []
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
    if app.store:
        # Read after the stop: also the requests in flight at the end, a few too many.
        result.commits_per_message = (harness.commits(dsn) - commits_before) / answered
        result.persistence = harness.persistence_check(dsn, answers, tag, app.store)
        harness.settle(dsn, app.store)
    if app.failure_marker:
        log = (args.logs / f"{name}.log").read_text(errors="replace")
        result.dialog_failures = log.count(app.failure_marker)
    return result


def _bench_safe(
    args: argparse.Namespace,
    app: App,
    config: ServerConfig,
    env: dict[str, str],
    run: int,
    followers: int,
) -> Result | Failure:
    """_bench_one, or a Failure when the app cannot be measured: the other apps still run."""
    try:
        return _bench_one(args, app, config, env, run, followers)
    except (RuntimeError, OSError, ValueError, subprocess.SubprocessError, psycopg.Error) as exc:
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        log = args.logs / f"{_log_name(args, app, config, run, followers)}.log"
        print(f"  {app.name} FAILED: {reason} (server log: {log})", flush=True)
        if log.exists():
            for line in log.read_text(errors="replace").splitlines()[-5:]:
                print(f"    | {line}", flush=True)
        return Failure(app=app.name, config=config, reason=reason)


def _missed_goals(entry: Entry) -> list[str]:
    """The goals of the redesign this entry misses (empty: all met)."""
    missed = []
    target = TARGET_PEER_RETURNING if entry.followers else TARGET_PEER_NEW
    ours, peer = entry.outcomes.get("ours"), entry.outcomes.get("peer")
    if isinstance(peer, Result):
        kept = peer.persistence
        if peer.errors or kept is None or not kept.every_answer_persisted:
            missed.append(
                "peer run invalid (errors or answers without rows): no ours/peer comparison"
            )
    if not isinstance(ours, Result):
        why = ours.reason if isinstance(ours, Failure) else "not run (--apps)"
        return [*missed, f"ours: {why}"]
    ld, kept = ours.load, ours.persistence
    if isinstance(peer, Result):
        ratio = ld.rps / peer.load.rps if peer.load.rps else 0.0
        if ratio < target:
            missed.append(f"ours/peer {ratio:.2f} < {target}")
    else:
        why = peer.reason if isinstance(peer, Failure) else "not run (--apps)"
        missed.append(f"ours/peer not measured (peer: {why})")
    if ld.p99_ms >= TARGET_P99_MS:
        missed.append(f"ours p99 {ld.p99_ms:.1f} ms >= {TARGET_P99_MS:.0f}")
    if kept is None or not kept.every_answer_persisted:
        missed.append("ours: answers without rows")
    if ours.errors:
        missed.append(f"ours: {ours.errors} errors")
    return missed


def _persisted_line(name: str, kept: harness.Persistence) -> str:
    return (
        f"{name} persisted: {kept.rows} inbound rows, {kept.replies} stored replies; "
        f"{kept.answered} text answers seen by wrk, {kept.missing} of them without a row"
        f" ({'every answer persisted' if kept.every_answer_persisted else 'MISSING ROWS'});"
        f" {kept.unanswered_rows} rows for requests in flight when wrk stopped"
    )


def _report(entries: list[Entry], trips: list[dict], args: argparse.Namespace) -> list[str]:
    """Print the results, mode by mode; return the goals missed, each with its run."""
    load1, load5, _ = os.getloadavg()
    print()
    for case in trips:
        sql = ", ".join(f"{n} {kind}" for kind, n in case["sql_kinds"].items())
        cache = ", ".join(f"{n} {kind}" for kind, n in case["cache_kinds"].items())
        print(
            f"ours, one message from a {case['case']}: {case['sql']} SQL round trips ({sql}) "
            f"+ 1 connection health check under gunicorn; {case['cache']} cache commands ({cache})"
        )
    if "peer" in args.apps:
        print(
            "peer, any message: 5 SQL round trips (BEGIN, follower upsert, inbound insert, "
            "reply insert, COMMIT), one transaction; no cache"
        )
    missed_all: list[str] = []
    for followers in dict.fromkeys(entry.followers for entry in entries):
        mode = [entry for entry in entries if entry.followers == followers]
        missed_all += _report_mode(mode, followers, args, load1, load5)
    return missed_all


def _report_mode(
    entries: list[Entry], followers: int, args: argparse.Namespace, load1: float, load5: float
) -> list[str]:
    senders = f"a pool of {followers} followers" if followers else "new followers"
    print()
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
    target = TARGET_PEER_RETURNING if followers else TARGET_PEER_NEW
    who = "returning followers" if followers else "all-new followers"
    pad = " " * 30
    missed_all = []
    for entry in entries:
        run = entry.run
        for name in APP_NAMES:
            outcome = entry.outcomes.get(name)
            if isinstance(outcome, Failure):
                print(f"{run:<4} {entry.config.label:<24} {name:<8} FAILED: {outcome.reason}")
                continue
            if outcome is None:
                continue
            res, ld = outcome, outcome.load
            db = f"{res.db_cpu_ms:5.2f}" if res.persistence is not None else f"{'-':>5}"
            print(
                f"{run:<4} {res.config.label:<24} {res.app:<8} {ld.rps:>8.1f} {ld.p50_ms:>7.1f} "
                f"{ld.p90_ms:>7.1f} {ld.p99_ms:>7.1f} {ld.max_ms:>7.0f} {res.errors:>6} "
                f"{res.app_cpu_ms:>14.2f} {db}"
            )
        ours, peer, base = entry.result("ours"), entry.result("peer"), entry.result("werobot")
        if ours and peer:
            print(
                f"{pad}ratio ours/peer {ours.load.rps / peer.load.rps:.2f} "
                f"(goal >= {target} for {who}); "
                f"CPU-cost ratio peer/ours {peer.cpu_ms / ours.cpu_ms:.2f} (app + db)"
            )
        if ours and base:
            print(
                f"{pad}ratio ours/WeRoBot {ours.load.rps / base.load.rps:.2f} (far anchor, "
                f"information: the old target >= {WEROBOT_TARGET_RATIO}); "
                f"CPU-cost ratio WeRoBot/ours {base.app_cpu_ms / ours.cpu_ms:.2f}"
            )
        if peer and base:
            print(f"{pad}ratio peer/WeRoBot {peer.load.rps / base.load.rps:.2f} (information)")
        if ours:
            print(
                f"{pad}ours p99 {ours.load.p99_ms:.1f} ms (goal < {TARGET_P99_MS:.0f}); "
                f"PostgreSQL commits per message: ours {ours.commits_per_message or 0:.2f}"
                + (f", peer {peer.commits_per_message or 0:.2f}" if peer else "")
            )
        for name, res in (("ours", ours), ("peer", peer)):
            if res and res.persistence is not None:
                print(f"{pad}{_persisted_line(name, res.persistence)}")
        missed = _missed_goals(entry)
        if missed:
            print(f"{pad}MISSES the goals: {'; '.join(missed)}")
        else:
            print(f"{pad}MEETS the goals")
        where = f"run {run}, {entry.config.label}, {senders}"
        missed_all += [f"{where}: {goal}" for goal in missed]
        print("-" * len(header))
    _report_medians(entries)
    return missed_all


def _report_medians(entries: list[Entry]) -> None:
    """Medians over the runs of one follower mode, when there are several."""
    if len(entries) < 2:
        return
    for other in ("peer", "werobot"):
        pairs = [(e.result("ours"), e.result(other)) for e in entries]
        ratios = [o.load.rps / b.load.rps for o, b in pairs if o and b and b.load.rps]
        if len(ratios) > 1:
            print(
                f"over {len(ratios)} runs: ratio ours/{other} median "
                f"{statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})"
            )
    p99s = [e.result("ours").load.p99_ms for e in entries if e.result("ours")]
    if len(p99s) > 1:
        print(
            f"over {len(p99s)} runs: ours p99 median {statistics.median(p99s):.1f} ms "
            f"(min {min(p99s):.1f}, max {max(p99s):.1f})"
        )


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
    parser.add_argument(
        "--apps",
        nargs="+",
        choices=APP_NAMES,
        default=list(APP_NAMES),
        help="which apps to run (default all: ours werobot peer); the goals need ours and peer",
    )
    parser.add_argument(
        "--both-modes",
        action="store_true",
        help="run each configuration with --followers N, then again with every message "
        "from a new follower (0), and judge both goals",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        parser.error("wrk is not on PATH (apt-get install wrk)")
    if args.warmup + args.duration > MAX_SIGNED_SECONDS:
        parser.error(f"--warmup + --duration must stay under {MAX_SIGNED_SECONDS} s")
    if args.both_modes and args.followers == 0:
        parser.error("--both-modes needs --followers N > 0 (the other mode is 0)")
    if args.ladder and not {"ours", "werobot"} <= set(args.apps):
        parser.error("--ladder needs ours and werobot in --apps")
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
    apps = {
        "ours": App(
            name="ours",
            wsgi="support.wsgi:application",
            cwd=ROOT,
            ready_path="/healthz",
            store="ours",
            failure_marker="dialog failed for message",
        ),
        "werobot": App(name="werobot", wsgi="werobot_app:application", cwd=HERE, ready_path="/"),
        "peer": App(
            name="peer",
            wsgi="peer_app:application",
            cwd=HERE,
            ready_path="/",
            # A handler that raises gets WeRoBot's empty 200 answer: wrk counts it among
            # the replies without text, so no log marker (it would count it twice).
            store="peer",
        ),
    }
    selected = [apps[name] for name in APP_NAMES if name in args.apps]
    modes = [args.followers, 0] if args.both_modes else [args.followers]

    migrate = "ours" in args.apps or args.ladder
    print(
        f"preparing {args.db} (create if missing{', migrate' if migrate else ''}) ...",
        flush=True,
    )
    ours_broken = ""  # why ours cannot run at all, when it cannot
    try:
        _database_prepare(args, env, migrate=migrate)
    except subprocess.SubprocessError:
        ours_broken = f"migrate failed (see {args.logs / 'migrate.log'})"
    trips: list[dict] = []
    if "ours" in args.apps and not ours_broken:
        try:
            trips = _round_trips(args, env)
        except subprocess.SubprocessError:
            print(f"roundtrips.py failed (see {args.logs / 'roundtrips.txt'})", flush=True)
    if ours_broken:
        print(f"ours cannot run: {ours_broken}; the other apps still run", flush=True)

    entries: list[Entry] = []
    ladder = []
    try:
        for run in range(1, args.repeat + 1):
            for followers in modes:
                senders = f"{followers} followers" if followers else "new followers"
                for config in configs:
                    entry = Entry(run=run, followers=followers, config=config, outcomes={})
                    entries.append(entry)
                    for app in selected:
                        if app.name == "ours" and ours_broken:
                            entry.outcomes["ours"] = Failure("ours", config, ours_broken)
                            continue
                        print(f"run {run}, {config.label}, {senders}: {app.name} ...", flush=True)
                        entry.outcomes[app.name] = _bench_safe(
                            args, app, config, env, run, followers
                        )
                    if args.ladder and followers == modes[0] and not ours_broken:
                        for stage in LADDER_STAGES:
                            print(
                                f"run {run}, {config.label}: ladder stage {stage} ...", flush=True
                            )
                            result = _bench_safe(
                                args, _ladder_app(stage), config, env, run, followers
                            )
                            if isinstance(result, Result):
                                ladder.append((run, result))
    finally:
        harness.stop_all()
    missed = _report(entries, trips, args)
    if ladder:
        pairs = [
            (e.run, e.result("ours"), e.result("werobot"))
            for e in entries
            if e.followers == modes[0] and e.result("ours") and e.result("werobot")
        ]
        _report_ladder(ladder, pairs)
    print(f"raw wrk output and server logs: {args.logs}")
    if missed:
        print(f"goals MISSED ({len(missed)}):")
        for goal in missed:
            print(f"  - {goal}")
        return 1
    print("goals met in every run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
