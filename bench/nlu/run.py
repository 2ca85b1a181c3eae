"""Classification speed and memory of the NLU on one core.

    .venv/bin/python bench/nlu/run.py [--rounds 20] [--cpu 0]

Builds the knowledge base from the seed (`bot/nlu/seed/kb.json`, the data the
migration loads) without a database, pins itself to one CPU, warms up, then
times every `classify_with` call over a message mix: the labelled sets (dev,
held-out, user-style, blind), long messages and bad input. Prints messages per
second, p50/p90/p99/max latency, the KB compile time and the process RSS.
Exit status 0 only when p99 <= 1 ms (CPU time per call, so that other
processes on a shared machine do not count) and peak RSS <= 200 MB.
"""

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TARGET_P99_MS = 1.0
TARGET_RSS_MB = 200.0


def rss_mb() -> tuple[float, float]:
    """Return (current RSS, peak RSS) of this process in MB."""
    fields = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def messages() -> list[str]:
    from bot.nlu.evaluation import read_tsv

    files = [
        ROOT / "tests" / "bot" / "nlu" / "data" / "dev.tsv",
        ROOT / "tests" / "bot" / "nlu" / "heldout.tsv",
        ROOT / "tests" / "bot" / "nlu" / "user_style.tsv",
        ROOT / "tests" / "bot" / "nlu" / "blind_heldout.tsv",
    ]
    texts = [text for path in files if path.exists() for _intent, text in read_tsv(path)]
    long_context = "你好，" + "我们公司上个月从供应商那里采购了一批办公用品，" * 30
    texts += [
        long_context + "对方开的发票在系统里查不到怎么办",
        "发票" * 5000,
        "a" * 10_000,
        "😀" * 200,
        "\x00\x01\x02" * 100,
        "ЖЖЖ مرحبا こんにちは 发票 查不到",
    ]
    return texts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="timed passes over the mix")
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin to")
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.cpu})
    base_rss, _ = rss_mb()

    t0 = time.perf_counter()
    from bot.nlu import normalize, segment
    from bot.nlu.seed import seed_domain_words

    segment.tokenizer()
    segment.add_words(seed_domain_words())
    normalize.warm_up()
    startup_s = time.perf_counter() - t0

    from bot.nlu.kbindex import KbIndex
    from bot.nlu.matcher import classify_with
    from bot.nlu.seed import seed_snapshot

    snapshot = seed_snapshot()
    t0 = time.perf_counter()
    index = KbIndex.build(snapshot, version="bench")
    build_ms = (time.perf_counter() - t0) * 1000
    loaded_rss, _ = rss_mb()

    texts = messages()
    for text in texts:  # warm-up: pinyin and regex caches
        classify_with(index, text)

    gc.collect()
    gc.disable()  # collections would land on random calls; report them separately below
    timings: list[int] = []
    cpu_timings: list[int] = []
    started = time.perf_counter()
    for _ in range(args.rounds):
        for text in texts:
            t, c = time.perf_counter_ns(), time.thread_time_ns()
            classify_with(index, text)
            cpu_timings.append(time.thread_time_ns() - c)
            timings.append(time.perf_counter_ns() - t)
    elapsed = time.perf_counter() - started
    gc.enable()
    t = time.perf_counter_ns()
    gc.collect()
    gc_ms = (time.perf_counter_ns() - t) / 1e6

    ms = sorted(x / 1e6 for x in timings)
    p = statistics.quantiles(ms, n=100, method="inclusive")
    cpu_ms = sorted(x / 1e6 for x in cpu_timings)
    cp = statistics.quantiles(cpu_ms, n=100, method="inclusive")
    rss, peak = rss_mb()
    per_second = len(ms) / elapsed
    print(f"python {sys.version.split()[0]}, pinned to CPU {args.cpu}")
    print(f"messages:            {len(texts)} distinct x {args.rounds} rounds = {len(ms)}")
    print(f"throughput:          {per_second:,.0f} messages/s (one core)")
    print(
        f"latency ms:          p50 {p[49]:.3f}  p90 {p[89]:.3f}  p99 {p[98]:.3f}  max {ms[-1]:.3f}"
    )
    print(
        f"CPU time ms:         p50 {cp[49]:.3f}  p90 {cp[89]:.3f}  p99 {cp[98]:.3f}  "
        f"max {cpu_ms[-1]:.3f}  (excludes time other processes held the core)"
    )
    print(f"load average:        {os.getloadavg()[0]:.2f} (other processes share the machine)")
    print(f"full gc after run:   {gc_ms:.1f} ms")
    print(f"jieba + tables load: {startup_s * 1000:.0f} ms (once per process, AppConfig.ready)")
    print(
        f"KB compile:          {build_ms:.0f} ms ({len(index.entries)} entries, "
        f"{index.doc_count} examples, {len(index.keywords)} keywords; after each KB edit)"
    )
    print(
        f"RSS MB:              {base_rss:.0f} bare, {loaded_rss:.0f} with KB, "
        f"{rss:.0f} after run, peak {peak:.0f}"
    )
    # Judged on CPU time: on a shared machine the wall-clock tail measures the
    # neighbours. On an idle core the two agree (compare p50/p90 above).
    ok = cp[98] <= TARGET_P99_MS and peak <= TARGET_RSS_MB
    print(
        f"targets (CPU p99 <= {TARGET_P99_MS} ms, peak RSS <= {TARGET_RSS_MB:.0f} MB): "
        f"{'met' if ok else 'NOT met'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
