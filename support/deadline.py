"""Total deadlines for outbound calls, not only per-read timeouts.

A socket timeout bounds one read: a server trickling one byte every two seconds never
trips a three-second read timeout and holds the caller as long as it likes. Two tools:

- `read_within(response, ...)`: read a streamed urllib3 response by whatever each recv
  returns (`read1`), each read's socket timeout shrunk to the time left, so the body
  costs at most the deadline;
- `call_within(seconds, fn, ...)`: run a call whose HTTP stack we do not own (an SDK) in
  a worker thread and stop waiting at the deadline; the abandoned call ends on its own
  per-read timeout.
"""

import concurrent.futures
import time

from urllib3.exceptions import ReadTimeoutError

_CHUNK = 64 * 1024
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="deadline")


class DeadlineExceeded(Exception):
    """The call did not finish within its total time budget."""


class BodyTooLarge(Exception):
    """The body is larger than the caller's cap (declared or read)."""


def _shrink_timeout(response, seconds: float) -> None:
    connection = getattr(response, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.01))


def read_within(response, *, max_bytes: int | None, deadline: float) -> bytes:
    """The streamed body of a urllib3 response, read before `deadline` (time.monotonic)."""
    declared = response.headers.get("Content-Length")
    if max_bytes is not None and declared and declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(f"declared {declared} bytes")
    body = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("body not read in time")
        _shrink_timeout(response, left)
        try:
            chunk = response.read1(_CHUNK)
        except (TimeoutError, ReadTimeoutError) as exc:
            raise DeadlineExceeded("body not read in time") from exc
        if not chunk:
            return bytes(body)
        body += chunk
        if max_bytes is not None and len(body) > max_bytes:
            raise BodyTooLarge(f"over {max_bytes} bytes")


def call_within(seconds: float, fn, /, *args, **kwargs):
    """`fn(*args, **kwargs)`, or DeadlineExceeded after `seconds` (the call is abandoned)."""
    future = _pool.submit(fn, *args, **kwargs)
    try:
        return future.result(timeout=seconds)
    except concurrent.futures.TimeoutError as exc:
        future.cancel()
        raise DeadlineExceeded(f"no answer within {seconds:.1f} s") from exc
