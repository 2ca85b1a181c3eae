"""Helpers for tests against real concurrency: threads in transactions, real workers."""

import threading

from django.db import connections


def run_together(n, work):
    """Run work(i) in n threads released at once; re-raise the first error."""
    barrier = threading.Barrier(n)
    errors, results = [], [None] * n

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()  # each thread has its own database connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def wait_for(predicate, seconds=30.0):
    """Poll predicate() until it is true (True) or the time is up (False): real workers."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False
