"""Count what one webhook message costs in round trips: SQL statements and cache commands.

A figure that does not depend on how busy the machine is. run.py calls it with the
benchmark's environment (PostgreSQL + Redis); it can also run alone:

    DATABASE_URL=... REDIS_URL=... DJANGO_SECRET_KEY=... WECHAT_TOKEN=... \
        .venv/bin/python bench/webhook/roundtrips.py

It sends the same kind of message as wechat.lua through Django's test client (so
through the URL, the middleware and the view), once from a new follower and once
from a returning one (a simple turn: one statement), and prints one JSON line per
case. The test client skips Django's per-request connection health check; under
gunicorn each request also runs one `SELECT 1` while CONN_HEALTH_CHECKS is on.
"""

import json
import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TEXT = "刚开的发票查不到怎么办"


def _count_cache_commands(counter: list[str]) -> None:
    """Record every call of the Redis cache client (each is one round trip).

    A pipeline (support/cache.py) is one round trip, recorded with its commands.
    """
    import redis.client
    from django.core.cache.backends import redis as backend

    original_execute = redis.client.Pipeline.execute

    def pipeline_execute(self, *args, **kwargs):
        names = "+".join(str(command[0][0]).lower() for command in self.command_stack)
        counter.append(f"pipeline({names})")
        return original_execute(self, *args, **kwargs)

    redis.client.Pipeline.execute = pipeline_execute

    commands = ("get", "set", "add", "delete", "touch", "incr", "has_key")
    for name in (*commands, "get_many", "set_many", "delete_many"):
        original = getattr(backend.RedisCacheClient, name)

        def wrapper(self, *args, _original=original, _name=name, **kwargs):
            counter.append(_name)
            return _original(self, *args, **kwargs)

        setattr(backend.RedisCacheClient, name, wrapper)


def main() -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "support.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bot.simulator.envelope import build_delivery, message_fields
    from support.db.group_commit import group_commit

    cache_calls: list[str] = []
    if "redis" in settings.CACHES["default"]["BACKEND"].lower():
        _count_cache_commands(cache_calls)
    client = Client(HTTP_HOST="127.0.0.1")
    openid = f"obenchcount{secrets.token_hex(6)}"

    def send() -> dict:
        fields = message_fields(openid=openid, msg_type="text", Content=TEXT)
        delivery = build_delivery(fields)
        cache_calls.clear()
        written = group_commit.stats.statements
        with CaptureQueriesContext(connection) as queries:
            response = client.post(delivery.path, delivery.body, content_type="text/xml")
        if response.status_code != 200 or b"<Content>" not in response.content:
            raise SystemExit(f"unexpected answer {response.status_code}: {response.content[:200]}")
        statements = [q["sql"].split(" ", 1)[0].upper() for q in queries.captured_queries]
        # Group-commit statements run on a raw psycopg cursor (not captured by Django).
        statements += ["WITH (prepared, group commit)"] * (group_commit.stats.statements - written)
        return {
            "sql": len(statements),
            "sql_kinds": {kind: statements.count(kind) for kind in sorted(set(statements))},
            "cache": len(cache_calls),
            "cache_kinds": {kind: cache_calls.count(kind) for kind in sorted(set(cache_calls))},
        }

    send()  # warm: the KB index, templates, the connection
    openid = f"obenchcount{secrets.token_hex(6)}"
    # The first message of a follower costs one query more (the help desk learns it has
    # nothing for them); the next ones only the turn's one statement (bot/dialog/receive.py).
    for case in ("new follower", "returning follower"):
        print("ROUNDTRIPS " + json.dumps({"case": case, **send()}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
