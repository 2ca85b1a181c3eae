"""Pieces of the webhook benchmark: child processes, wrk, CPU accounting, persistence check.

run.py puts them together; nothing here knows about the report.
"""

import contextlib
import hashlib
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
LUA = HERE / "wechat.lua"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

_children: list[subprocess.Popen] = []


# --- processes -------------------------------------------------------------------------


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
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


def stop_all() -> None:
    for proc in list(_children):
        stop(proc, grace=5.0)


def spawn(cmd: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    """Start a child in its own process group (so stop() reaches its workers too)."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    _children.append(proc)
    return proc


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(port: int, path: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    """Wait until the server answers anything on `path`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} not ready after {timeout:.0f} s")


# --- CPU accounting ----------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far; 0 when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers: processes whose parent is the master."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(entry.name))
    return pids


def backend_pids(dsn: str) -> list[int]:
    """PostgreSQL backends connected to the bench database (the app's connections)."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
    return [row[0] for row in rows]


def commits(dsn: str) -> int:
    """Transactions committed in the bench database so far (PostgreSQL's statistics).

    The statistics of a backend are flushed when it is idle or exits, so read this
    after the server stopped for an exact count.
    """
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0])


# The tables each storing app writes, by App.store in run.py.
TABLES = {
    "ours": ("wechat_message", "wechat_follower"),
    "peer": ("peer_message", "peer_follower"),
}


def settle(dsn: str, store: str = "ours") -> None:
    """Do now the database work a run left behind (autovacuum, the checkpoint), so that it
    does not run, on the same two cores, during the next app's measured run."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"VACUUM ANALYZE {', '.join(TABLES[store])}")
        conn.execute("CHECKPOINT")


def peer_reset(dsn: str) -> None:
    """Drop the peer's tables: peer_app.py creates them again, empty and with its current
    schema, when its workers start, so that no run (nor warm-up) inherits rows of another."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS peer_message, peer_follower")


@dataclass
class CpuSample:
    seconds: dict[int, float]

    @classmethod
    def of(cls, pids: list[int]) -> "CpuSample":
        return cls({pid: _cpu_seconds(pid) for pid in pids})

    def since(self, earlier: "CpuSample") -> float:
        """CPU spent between two samples (processes that appeared in between count fully)."""
        return sum(now - earlier.seconds.get(pid, 0.0) for pid, now in self.seconds.items())


# --- load ----------------------------------------------------------------------------------


def app_environment(*, database_url: str, redis: str, broker: str, token: str) -> dict[str, str]:
    """The product's settings under the benchmark: production mode, plaintext WeChat."""
    return {
        "DJANGO_SETTINGS_MODULE": "support.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis,
        "CELERY_BROKER_URL": broker,
        "WECHAT_TOKEN": token,
        "WECHAT_APP_ID": "wx0000000000benchmark",
        "WECHAT_ENCODING_AES_KEY": "",
        "WECHAT_APP_SECRET": "",
        "PYTHONUNBUFFERED": "1",
        "PYTHONWARNINGS": "ignore",
    }


def signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324


def probe(port: int, query: str, tag: str) -> str:
    """Send one message the way wechat.lua does; return the reply, raise if it is not text."""
    openid = f"obench{tag}probe"
    body = (
        f"<xml><ToUserName><![CDATA[gh_fapiao_desk]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[刚开的发票查不到怎么办]]></Content><MsgId>{tag}0</MsgId></xml>"
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
    max_ms: float
    requests: int
    non2xx: int
    socket_errors: int
    text_replies: int  # 200 answers carrying a text reply to the right sender
    other_replies: int  # 200 answers without one (`success`, wrong addressee)
    raw: str = field(repr=False)

    @property
    def ok(self) -> int:
        return self.requests - self.non2xx


def parse_wrk(output: str) -> Load:
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
        max_ms=counts["max_us"] / 1000,
        requests=counts["requests"],
        non2xx=counts["non2xx"],
        socket_errors=sum(counts[k] for k in ("connect", "read", "write", "timeout")),
        text_replies=counts["text_replies"],
        other_replies=counts["other_replies"],
        raw=output,
    )


# Signed queries written per wrk run: more than the fastest app answers in the time.
SIGNED_PER_SECOND = 8000


def signed_queries(path: Path, token: str, count: int) -> str:
    """Write `count` signed query strings, each with its own nonce, as WeChat sends them.

    The webhook remembers every (timestamp, nonce) it accepted and refuses a second body
    under it (a replay), so each request needs its own nonce; wrk's Lua has no SHA-1, so
    the signatures are computed here. Returns the timestamp they share.
    """
    timestamp = str(int(time.time()))
    with path.open("w") as out:
        for i in range(count):
            nonce = f"{i:x}n{secrets.token_hex(4)}"
            sig = signature(token, timestamp, nonce)
            out.write(f"signature={sig}&timestamp={timestamp}&nonce={nonce}\n")
    return timestamp


def run_wrk(
    *,
    port: int,
    token: str,
    tag: str,
    seconds: int,
    connections: int,
    threads: int,
    answers_dir: Path,
    followers: int = 0,
    pool: str = "",
) -> Load:
    """One wrk run; the MsgIds of its answered messages land in answers_dir.

    `followers`: 0 = every message from a new follower, else a pool of that many
    followers named after `pool` (keep it across the warm-up and the measured run).
    """
    signed = answers_dir / f"signed-{tag}.txt"
    timestamp = signed_queries(signed, token, SIGNED_PER_SECOND * seconds + 1000)
    cmd = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(LUA),
        f"http://127.0.0.1:{port}/wechat/",
        "--",
        str(signed),
        timestamp,
        str(threads),
        tag,
        str(answers_dir),
        str(followers),
        pool or tag,
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True)
    finally:
        signed.unlink(missing_ok=True)
    return parse_wrk(done.stdout)


def new_tag() -> str:
    """Digits unique to one wrk run; prefix of its MsgIds (18 digits in all, an int64)."""
    time.sleep(0.11)  # consecutive runs must not share a decisecond
    return "1" + f"{time.time_ns() // 10**8 % 10**7:07d}"


# --- persistence -------------------------------------------------------------------------


@dataclass
class Persistence:
    answered: int  # messages wrk saw a text reply for
    rows: int  # inbound rows of the run
    missing: int  # answered, but no row: must be 0
    unanswered_rows: int  # rows wrk saw no answer for: requests in flight when it stopped
    replies: int  # stored passive replies to the run's messages

    @property
    def every_answer_persisted(self) -> bool:
        return self.missing == 0 and self.answered > 0


def answered_ids(answers_dir: Path, tag: str) -> set[str]:
    ids: set[str] = set()
    for path in answers_dir.glob(f"answered-{tag}*.txt"):
        ids.update(line.strip() for line in path.read_text().splitlines() if line.strip())
    return ids


# Per storing app: the run's inbound MsgIds, and the count of stored replies to them.
_PERSISTENCE_SQL = {
    "ours": (
        "SELECT wechat_msg_id FROM wechat_message WHERE direction = 'in' AND wechat_msg_id LIKE %s",
        "SELECT count(*) FROM wechat_message r JOIN wechat_message m ON r.reply_to_id = m.id "
        "WHERE r.channel = 'passive' AND m.wechat_msg_id LIKE %s",
    ),
    "peer": (
        "SELECT msg_id FROM peer_message WHERE direction = 'in' AND msg_id LIKE %s",
        "SELECT count(*) FROM peer_message r JOIN peer_message m ON r.reply_to_id = m.id "
        "WHERE r.direction = 'out' AND m.msg_id LIKE %s",
    ),
}


def persistence_check(dsn: str, answers_dir: Path, tag: str, store: str = "ours") -> Persistence:
    """Compare the messages wrk saw answered with the inbound rows of the run
    (`store`: whose tables, "ours" or "peer")."""
    rows_sql, replies_sql = _PERSISTENCE_SQL[store]
    answered = answered_ids(answers_dir, tag)
    with psycopg.connect(dsn) as conn:
        stored = {row[0] for row in conn.execute(rows_sql, [tag + "%"])}
        replies = conn.execute(replies_sql, [tag + "%"]).fetchone()[0]
    return Persistence(
        answered=len(answered),
        rows=len(stored),
        missing=len(answered - stored),
        unanswered_rows=len(stored - answered),
        replies=replies,
    )
