"""CPU per webhook message in one process, without gunicorn or wrk: a steadier figure.

Sends signed text messages through Django's test client (URL, middleware, view, the
whole receive path) against the benchmark's PostgreSQL and Redis, and prints the process
CPU and wall time per message. Returning followers by default (a pool of 50), or every
message from a new follower (`--new`). `--freeze` calls `gc.freeze()` after the warm-up,
as `support/wsgi.py` does under gunicorn. `--profile FILE` writes a cProfile of a second
batch. Run it for another checkout (the tree before a change) with that checkout's
interpreter and `--root`:

    .venv/bin/python bench/webhook/inprocess.py --freeze
    /tmp/before/.venv/bin/python bench/webhook/inprocess.py --root /tmp/before \\
        --database-url postgres://postgres@127.0.0.1:5432/fapiao_bench_before --freeze
"""

import argparse
import cProfile
import gc
import os
import secrets
import sys
import time
from pathlib import Path

import harness  # bench/webhook/harness.py, next to this script

TEXTS = [
    "刚开的发票查不到怎么办",
    "查验的时候提示信息不一致",
    "数电票没有发票代码怎么查验",
    "报销系统导入发票失败说发票不存在",
    "上海开的发票在北京查不到",
    "发票显示已作废是怎么回事",
    "你好，在吗",
    "帮助",
]
TOKEN = "inprocess-bench-token"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[2]))
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--new", action="store_true", help="every message from a new follower")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/fapiao_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--freeze", action="store_true")
    parser.add_argument("--profile", default="")
    args = parser.parse_args()

    sys.path.insert(0, args.root)
    os.environ.update(
        harness.app_environment(
            database_url=args.database_url,
            redis=args.redis,
            broker="redis://127.0.0.1:6379/14",
            token=TOKEN,
        )
    )
    import django

    django.setup()
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    tag = secrets.token_hex(3)
    base = int(time.time() * 1000) % 10**9

    def send(i: int) -> None:
        timestamp, nonce = str(int(time.time())), f"{i}n{secrets.token_hex(4)}"
        signature = harness.signature(TOKEN, timestamp, nonce)
        openid = f"oinproc{tag}{i if args.new else i % 50}"
        body = (
            f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{TEXTS[i % len(TEXTS)]}]]></Content>"
            f"<MsgId>{base}{i:07d}</MsgId></xml>"
        )
        query = f"signature={signature}&timestamp={timestamp}&nonce={nonce}&openid={openid}"
        response = client.post(f"/wechat/?{query}", body, content_type="text/xml")
        if response.status_code != 200 or b"<Content>" not in response.content:
            raise SystemExit(f"unexpected answer {response.status_code}: {response.content[:200]}")

    for i in range(100):  # warm: the KB index, templates, connections
        send(i)
    if args.freeze:
        gc.freeze()
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(100, 100 + args.messages):
        send(i)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    mode = "new followers" if args.new else "returning followers"
    print(
        f"{args.root}: {mode}, {args.messages} messages, freeze {'on' if args.freeze else 'off'}:"
        f" CPU {1000 * cpu / args.messages:.2f} ms/message, wall {1000 * wall / args.messages:.2f}"
    )
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for i in range(100 + args.messages, 100 + 2 * args.messages):
            send(i)
        profile.disable()
        profile.dump_stats(args.profile)
        print(f"profile of another {args.messages} messages: {args.profile}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
