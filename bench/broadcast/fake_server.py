"""A fast fake of WeChat's message APIs for the broadcast benchmark (asyncio, keep-alive).

    python bench/broadcast/fake_server.py --port 0 --latency-ms 5 --port-file /tmp/port

It answers `stable_token`, template and customer-service sends after `latency-ms`,
and counts deliveries per openid the way WeChat does: a template send repeating an
(openid, client_msg_id) pair already accepted is answered but not delivered again.
`GET /stats` returns the counts; `POST /reset` clears them.
"""

import argparse
import asyncio
import json
import time
from collections import Counter

state = {
    "requests": 0,
    "asked": Counter(),  # openid -> send requests received
    "delivered": Counter(),  # openid -> messages that reached the phone
    "seen": set(),  # (openid, client_msg_id) already delivered
    "suppressed": 0,  # repeats WeChat drops thanks to client_msg_id
    "first": None,
    "last": None,
    "msgid": 1000,
}


def _reset() -> None:
    state.update(
        requests=0,
        asked=Counter(),
        delivered=Counter(),
        seen=set(),
        suppressed=0,
        first=None,
        last=None,
    )


def _stats() -> dict:
    per = state["delivered"]
    histogram = Counter(per.values())
    return {
        "requests": state["requests"],
        "openids": len(per),
        "delivered": sum(per.values()),
        "suppressed_repeats": state["suppressed"],
        "openids_asked_more_than_once": sum(1 for n in state["asked"].values() if n > 1),
        "openids_by_count": {str(k): v for k, v in sorted(histogram.items())},
        "first_delivery": state["first"],
        "last_delivery": state["last"],
    }


def _deliver(body: dict) -> dict:
    openid = body.get("touser", "")
    key = body.get("client_msg_id")
    state["requests"] += 1
    state["asked"][openid] += 1
    if key and (openid, key) in state["seen"]:
        state["suppressed"] += 1
    else:
        if key:
            state["seen"].add((openid, key))
        state["delivered"][openid] += 1
        now = time.time()
        state["first"] = state["first"] or now
        state["last"] = now
    state["msgid"] += 1
    return {"errcode": 0, "errmsg": "ok", "msgid": state["msgid"]}


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            raw = await reader.readexactly(length) if length else b""
            path = target.split("?", 1)[0]
            if path == "/stats":
                payload = _stats()
            elif path == "/reset":
                _reset()
                payload = {"ok": True}
            elif path == "/cgi-bin/stable_token":
                payload = {"access_token": "BENCH-TOKEN", "expires_in": 7200}
            elif path in (
                "/cgi-bin/message/template/send",
                "/cgi-bin/message/custom/send",
                "/cgi-bin/message/subscribe/bizsend",  # no client_msg_id: every call counts
            ):
                await asyncio.sleep(latency)
                payload = _deliver(json.loads(raw or b"{}"))
            else:
                payload = {"errcode": 404, "errmsg": "unknown api"}
            body = json.dumps(payload).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            del method
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--port-file", default="")
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    server = await asyncio.start_server(
        lambda r, w: _handle(r, w, latency), "127.0.0.1", args.port, backlog=1024
    )
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write(str(port))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
