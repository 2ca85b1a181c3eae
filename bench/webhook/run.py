"""Load `/wechat/` with signed text messages and compare it with a bare WeRoBot bot.

Both apps run under the same gunicorn configuration and get the same wrk load
(`wechat.lua`: every request a new MsgId and FromUserName). Ours runs on
PostgreSQL + Redis and persists every message; afterwards the inbound Message
rows of the run are counted and compared with the 200 answers wrk saw.

    .venv/bin/python bench/webhook/run.py [--duration 20] [--connections 16] [--config 4 2x4]

Needs wrk on PATH, PostgreSQL and Redis on loopback. Every process it starts is
stopped on exit, on failure and on Ctrl-C.
"""

import argparse
import atexit
import contextlib
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VENV_BIN = Path(sys.executable).parent
LUA = HERE / "wechat.lua"

TARGET_P99_MS = 100.0
TARGET_RATIO = 0.5

_children: list[subprocess.Popen] = []


# --- processes -------------------------------------------------------------------------


def _stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop a child and its process group: TERM (gunicorn finishes in-flight work), then KILL."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    else:
        # The leader is gone; make sure no worker of its group outlived it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    if proc in _children:
        _children.remove(proc)


def _stop_all() -> None:
    for proc in list(_children):
        _stop(proc, grace=5.0)


def _on_signal(signum, _frame) -> None:
    _stop_all()
    sys.exit(128 + signum)


def _spawn(cmd: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    _children.append(proc)
    return proc


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- configuration ---------------------------------------------------------------------


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
        WECHAT_TOKEN=token,
        WECHAT_APP_ID="wx0000000000benchmark",
        WECHAT_ENCODING_AES_KEY="",
        WECHAT_APP_SECRET="",
        PYTHONUNBUFFERED="1",
    )
    return env


def _database_prepare(args: argparse.Namespace, env: dict[str, str], logs: Path) -> None:
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.db]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{args.db}"')
    with (logs / "migrate.log").open("wb") as out:
        subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=300,
        )


def _persisted(args: argparse.Namespace, tag: str) -> int:
    """Inbound Message rows of one wrk run (its MsgIds all start with the run's tag)."""
    with psycopg.connect(f"{args.pg}/{args.db}") as conn:
        row = conn.execute(
            "SELECT count(*) FROM wechat_message WHERE direction = 'in' AND wechat_msg_id LIKE %s",
            [tag + "%"],
        ).fetchone()
    return row[0]


# --- one server, one load ----------------------------------------------------------------


def _signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324


def _wait_ready(port: int, path: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} not ready after {timeout:.0f} s")


def _probe(port: int, query: str, tag: str) -> str:
    """Send one message the way wechat.lua does; return the reply, raise if it is not XML."""
    openid = f"obench{tag}probe"
    body = (
        f"<xml><ToUserName><![CDATA[gh_fapiao_desk]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[帮助]]></Content><MsgId>{tag}0</MsgId></xml>"
    ).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", query + openid, body=body, headers={"Content-Type": "text/xml"})
    response = conn.getresponse()
    reply = response.read().decode("utf-8", errors="replace")
    conn.close()
    if response.status != 200 or "<Content>" not in reply:
        raise RuntimeError(f"probe got {response.status}: {reply[:300]!r}")
    return reply


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


@dataclass
class Load:
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    requests: int
    non2xx: int
    socket_errors: int
    raw: str = field(repr=False)

    @property
    def ok(self) -> int:
        return self.requests - self.non2xx


def _parse_wrk(output: str) -> Load:
    """Read Requests/sec and the --latency distribution, plus the counts from done()."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    dist = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", output, re.MULTILINE))
    summary = re.search(r"^WRK_JSON (.*)$", output, re.MULTILINE)
    if not (rps and summary and {"50", "90", "99"} <= dist.keys()):
        raise RuntimeError(f"cannot parse wrk output:\n{output}")
    counts = json.loads(summary.group(1))
    return Load(
        rps=float(rps.group(1)),
        p50_ms=_ms(dist["50"]),
        p90_ms=_ms(dist["90"]),
        p99_ms=_ms(dist["99"]),
        requests=counts["requests"],
        non2xx=counts["non2xx"],
        socket_errors=sum(counts[k] for k in ("connect", "read", "write", "timeout")),
        raw=output,
    )


def _wrk(args: argparse.Namespace, port: int, auth: list[str], tag: str, seconds: int) -> Load:
    cmd = [
        "wrk",
        "-t",
        str(args.wrk_threads),
        "-c",
        str(args.connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(LUA),
        f"http://127.0.0.1:{port}/wechat/",
        "--",
        *auth,
        tag,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True)
    return _parse_wrk(done.stdout)


@dataclass
class Result:
    app: str
    config: ServerConfig
    load: Load
    persisted: int | None = None


def _tag() -> str:
    """Digits unique to one wrk run; prefix of its MsgIds (18 digits in all, an int64)."""
    time.sleep(0.11)  # consecutive runs must not share a decisecond
    return "1" + f"{time.time_ns() // 10**8 % 10**7:07d}"


def _bench_one(
    args: argparse.Namespace,
    app: App,
    config: ServerConfig,
    env: dict[str, str],
    logs: Path,
) -> Result:
    port = _free_port()
    log = logs / f"{app.name}-{config.workers}x{config.threads}.log"
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
    server = _spawn(cmd, env=env, cwd=app.cwd, log=log)
    try:
        _wait_ready(port, app.ready_path, server)
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(5)
        auth = [_signature(env["WECHAT_TOKEN"], timestamp, nonce), timestamp, nonce]
        query = f"/wechat/?signature={auth[0]}&timestamp={timestamp}&nonce={nonce}&openid="
        _probe(port, query, _tag())
        if args.warmup:
            _wrk(args, port, auth, _tag(), args.warmup)
        tag = _tag()
        load = _wrk(args, port, auth, tag, args.duration)
        (logs / f"wrk-{app.name}-{config.workers}x{config.threads}.txt").write_text(load.raw)
    finally:
        # Graceful stop: requests still in flight when wrk quit finish before we count.
        _stop(server)
    result = Result(app=app.name, config=config, load=load)
    if app.name == "ours":
        result.persisted = _persisted(args, tag)
    return result


# --- report ----------------------------------------------------------------------------


def _report(pairs: list[tuple[Result, Result]], args: argparse.Namespace) -> bool:
    print()
    print(
        f"wrk: {args.connections} connections, {args.wrk_threads} thread(s), "
        f"{args.duration} s measured after {args.warmup} s warm-up; {os.cpu_count()} CPUs"
    )
    header = (
        f"{'gunicorn':<26} {'app':<8} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
        f"{'non-2xx':>8} {'sock err':>8}"
    )
    print(header)
    print("-" * len(header))
    all_good = True
    for ours, base in pairs:
        for res in (ours, base):
            ld = res.load
            print(
                f"{res.config.label:<26} {res.app:<8} {ld.rps:>8.1f} {ld.p50_ms:>8.2f} "
                f"{ld.p90_ms:>8.2f} {ld.p99_ms:>8.2f} {ld.non2xx:>8} {ld.socket_errors:>8}"
            )
        ratio = ours.load.rps / base.load.rps if base.load.rps else 0.0
        persisted_all = ours.persisted is not None and ours.persisted >= ours.load.ok
        in_flight = (ours.persisted or 0) - ours.load.ok
        meets = (
            ratio >= TARGET_RATIO
            and ours.load.p99_ms < TARGET_P99_MS
            and persisted_all
            and ours.load.non2xx == 0
            and ours.load.socket_errors == 0
        )
        all_good &= meets
        print(
            f"{'':<26} ratio ours/WeRoBot = {ratio:.2f} (target >= {TARGET_RATIO}); "
            f"ours p99 {ours.load.p99_ms:.1f} ms (target < {TARGET_P99_MS:.0f})"
        )
        print(
            f"{'':<26} persisted: {ours.persisted} inbound rows for {ours.load.ok} 200 answers"
            f" -> {'every 200 persisted' if persisted_all else 'MISSING ROWS'}"
            f" (+{max(in_flight, 0)} answered after wrk stopped);"
            f" {'MEETS' if meets else 'MISSES'} the target"
        )
        print("-" * len(header))
    return all_good


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="measured seconds per server")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per server")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument(
        "--config",
        nargs="+",
        default=["4"],
        help="gunicorn configs: WORKERS (sync) or WORKERSxTHREADS (gthread)",
    )
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db", default="fapiao_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--logs", type=Path, default=HERE / "logs")
    args = parser.parse_args(argv)

    if not shutil.which("wrk"):
        parser.error("wrk is not on PATH (apt-get install wrk)")
    configs = [ServerConfig.parse(text) for text in args.config]
    args.logs.mkdir(parents=True, exist_ok=True)
    (args.logs / ".gitignore").write_text("*\n")

    atexit.register(_stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    token = secrets.token_hex(16)
    env = _environment(args, token)
    ours = App(name="ours", wsgi="support.wsgi:application", cwd=ROOT, ready_path="/healthz")
    werobot = App(name="werobot", wsgi="werobot_app:application", cwd=HERE, ready_path="/")

    print(f"preparing {args.db} (create if missing, migrate) ...", flush=True)
    _database_prepare(args, env, args.logs)
    pairs = []
    try:
        for config in configs:
            print(f"{config.label}: ours ...", flush=True)
            mine = _bench_one(args, ours, config, env, args.logs)
            print(f"{config.label}: werobot ...", flush=True)
            base = _bench_one(args, werobot, config, env, args.logs)
            pairs.append((mine, base))
    finally:
        _stop_all()
    good = _report(pairs, args)
    print(f"raw wrk output and server logs: {args.logs}")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
