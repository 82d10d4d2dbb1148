"""Soak benchmark: a steady replay through the whole pipeline for an hour, with alerts stored.

    .venv/bin/python bench/bench_soak.py [--minutes 60] [--rate 20] [--alerts 1000]
        [--cluster-window N] [--cluster-sweep 60]

Real `rasad produce --replay` and `rasad worker` processes on the local stack (RASAD_* settings;
the shared stack on 127.0.0.1 by default), with their own topics, consumer group and index
prefix, deleted afterwards. The corpus is replayed at ``--rate`` articles/s for ``--minutes``
(31,525 articles last 26 minutes at 20/s; later passes give each URL a ``soak=N`` query, so
they are new articles, not duplicates). ``--alerts`` analyst-like alerts (bench_alerts'
queries) are stored first, so every indexed batch is also percolated.

Other engineers' jobs share the machine: each sample line ends with the load average, so a lag
peak can be read against what else was running.

Warm-up is when memory that is bounded by design fills: JVM heaps grow into their -Xmx, the
worker loads its models and fills its caches, and the clustering window fills up to its article
bound. The window's production bound (200,000 articles, ~6-9 KB each) takes 2.8 hours to fill at
20/s, longer than a soak, so a soak bounds it to ``--cluster-window`` articles (by default those
of the soak's first fifth) and sweeps it every ``--cluster-sweep`` seconds. The per-word caches
(normalizer, stems, shingles, tagger features: bounded, up to 200,000 entries each) fill with
the corpus's vocabulary during its first pass (31,525 articles, 26 min at 20/s); later passes
repeat its texts under new URLs. Warm-up therefore ends once the window has filled and been
swept and one corpus pass is in (at most half the soak): growth after it is what no bound
holds, which is what the target is about.

Printed: the RSS of every process (servers, worker, producer) at the start, after warm-up and
at the end (the producer's last sample if it has already exited); the consumer lag of the
worker's group (raw + enriched topics) every sample and its maximum, in messages and in seconds
at the replay rate; articles in (unique ids published) and
indexed (searchable); dead letters. Targets (issue 18): nothing lost, RSS growth under 10 %
after warm-up, lag never above 30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import itertools
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psutil
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_alerts import store_alerts
from measure import loadavg

from producers.replay import corpus_article, source_for
from rasad.core.engine.client import Engine
from rasad.core.kafka import client_config
from rasad.core.settings import Settings
from rasad.stack import control as stack
from tests.fault_fixtures import CORPUS, Pipeline

# One sample (RSS, lag, counts) every this many seconds: 720 lines in an hour at most.
SAMPLE_S = 5.0
# The default clustering window holds this fraction of the soak's articles (see the module's
# docstring: RSS is compared from when it has filled and been swept once).
WARMUP_FRACTION = 0.2
# After the replay: how long the pipeline may take to index the last articles.
DRAIN_S = 300.0
QUIET = {"RASAD_LOG_LEVEL": "WARNING"}


def soak_corpus(path: Path, count: int) -> tuple[set[str], int]:
    """Write ``count`` corpus lines (cycling, a new ``soak=N`` query per pass); return the
    unique article ids the pipeline must end with, and the articles in one pass."""
    ids: set[str] = set()
    per_pass = 0
    now = datetime.now(UTC)
    written = 0
    with path.open("wb") as out:
        for pass_no in itertools.count():
            with gzip.open(CORPUS, "rb") as lines:
                for line in lines:
                    if written >= count:
                        return ids, per_pass or written
                    record = orjson.loads(line)
                    if pass_no:
                        url = str(record["url"])
                        record["url"] = f"{url}{'&' if '?' in url else '?'}soak={pass_no}"
                    out.write(orjson.dumps(record) + b"\n")
                    source = source_for(str(record["source"]), {})
                    ids.add(corpus_article(record, source, "-", now).id)
                    written += 1
            per_pass = per_pass or written
    return ids, per_pass


async def store_soak_alerts(settings: Settings, n: int) -> int:
    async with await Engine.connect(settings) as engine:
        return await store_alerts(engine, settings, n, "soak")


def lag(settings: Settings) -> int:
    """Messages the worker group has not committed yet, over the raw and enriched topics."""
    admin = KafkaAdminClient(client_id="bench-soak", **client_config(settings))
    consumer = KafkaConsumer(**client_config(settings))
    try:
        group = settings.stream_app_id
        committed = admin.list_group_offsets(group).get(group, {})
        tps = [
            TopicPartition(topic, p)
            for topic in (settings.topic_raw, settings.topic_enriched)
            for p in consumer.partitions_for_topic(topic) or ()
        ]
        ends = consumer.end_offsets(tps)
        return sum(
            max(0, ends[tp] - (committed[tp].offset if tp in committed else 0)) for tp in tps
        )
    finally:
        consumer.close()
        admin.close()


def published(settings: Settings) -> int:
    consumer = KafkaConsumer(**client_config(settings))
    try:
        parts = consumer.partitions_for_topic(settings.topic_raw) or set()
        ends = consumer.end_offsets([TopicPartition(settings.topic_raw, p) for p in parts])
        return sum(ends.values())
    finally:
        consumer.close()


def rss_mb(processes: dict[str, psutil.Process], last: dict[str, float]) -> dict[str, float]:
    """RSS of each process, or ``last`` (its previous sample) once it has exited (an exited
    child not yet reaped is a zombie, whose RSS reads 0)."""
    out = dict(last)
    for name, process in processes.items():
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                out[name] = process.memory_info().rss / 2**20
        except psutil.NoSuchProcess:
            pass
        out.setdefault(name, float("nan"))
    return out


def print_rss(title: str, rss: dict[str, float]) -> None:
    print(f"RSS {title}: " + ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items()), flush=True)


async def soak(args: argparse.Namespace, root: Path) -> bool:
    window = {
        "RASAD_STREAM_CLUSTER_MAX_ARTICLES": str(args.cluster_window),
        "RASAD_STREAM_CLUSTER_SWEEP_S": str(args.cluster_sweep),
    }
    line = Pipeline(Settings(), root, extra_env=QUIET | window)
    s = line.settings
    seconds = args.minutes * 60
    expected, per_pass = soak_corpus(root / "soak.jsonl", int(args.rate * seconds))
    warmup_s = min(
        seconds / 2, max(args.cluster_window / args.rate + args.cluster_sweep, per_pass / args.rate)
    )
    print(f"warm-up: {warmup_s:.0f} s (one corpus pass: {per_pass} articles)", flush=True)
    line.setup()
    try:
        print(f"stored {await store_soak_alerts(s, args.alerts)} alerts", flush=True)
        processes = {st.name: psutil.Process(st.pid) for st in stack.status(s) if st.pid}
        processes["worker"] = psutil.Process(line.worker().pid)
        while not ((m := line.group_members()) and all(m.values())):
            if line.crashed():
                raise SystemExit(f"worker crashed\n{line.logs()}")
            await asyncio.sleep(1)
        producer = line.replay(root / "soak.jsonl", args.rate)
        processes["producer"] = psutil.Process(producer.pid)
        started = time.monotonic()
        warm_at = started + warmup_s
        start_rss: dict[str, float] | None = None  # at the first sample: every process running
        warm_rss: dict[str, float] | None = None
        last_rss: dict[str, float] = {}
        max_lag, indexed = 0, 0
        async with await Engine.connect(s) as engine:
            while producer.poll() is None or (
                indexed < len(expected) and time.monotonic() - started < seconds + DRAIN_S
            ):
                await asyncio.sleep(SAMPLE_S)
                now_lag = lag(s)
                max_lag = max(max_lag, now_lag)
                indexed = await engine.count(s.articles_read_alias)
                last_rss = rss_mb(processes, last_rss)
                if start_rss is None:
                    start_rss = last_rss
                    print_rss("at start", start_rss)
                if warm_rss is None and time.monotonic() >= warm_at:
                    warm_rss = last_rss
                    print_rss("after warm-up", warm_rss)
                elapsed = time.monotonic() - started
                print(
                    f"{elapsed:7.0f} s  published {published(s):6d}  indexed {indexed:6d}  "
                    f"lag {now_lag:5d} msgs ({now_lag / args.rate:5.1f} s)  load {loadavg()}",
                    flush=True,
                )
            end_rss = rss_mb(processes, last_rss)
        return report(
            line, args, expected, indexed, max_lag, warm_rss or start_rss or end_rss, end_rss
        )
    finally:
        line.close()


def report(
    line: Pipeline,
    args: argparse.Namespace,
    expected: set[str],
    indexed: int,
    max_lag: int,
    warm: dict[str, float],
    end: dict[str, float],
) -> bool:
    print_rss("at end", end)
    growth = {k: 100 * (end[k] - warm[k]) / warm[k] for k in warm if k != "producer"}
    print("RSS growth after warm-up: " + ", ".join(f"{k} {v:+.1f} %" for k, v in growth.items()))
    raw_dlq = len(line.topic_keys(line.settings.dead_letter_topic(line.settings.topic_raw)))
    lost = len(expected) - indexed
    print(
        f"articles in (unique ids) {len(expected)}, indexed {indexed}, lost {lost}; "
        f"raw dead letters {raw_dlq}; max lag {max_lag} msgs = {max_lag / args.rate:.1f} s "
        f"at {args.rate:.0f}/s"
    )
    ok = lost == 0 and max_lag / args.rate <= 30 and all(g < 10 for g in growth.values())
    print("targets (nothing lost, RSS growth < 10 %, lag <= 30 s):", "met" if ok else "NOT met")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument(
        "--cluster-window",
        type=int,
        help="articles the clustering window keeps (default: a fifth of the soak's)",
    )
    parser.add_argument(
        "--cluster-sweep", type=float, default=60.0, help="seconds between window sweeps"
    )
    args = parser.parse_args()
    if args.cluster_window is None:
        args.cluster_window = int(WARMUP_FRACTION * args.rate * args.minutes * 60)
    # A soak stopped with SIGTERM (kill, a CI timeout) still stops its worker and producer and
    # deletes its topics and indices: Python's default would exit without any `finally`.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        ok = asyncio.run(soak(args, Path(tmp)))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
