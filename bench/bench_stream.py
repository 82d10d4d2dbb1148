"""Enrichment cost per article, and the worker's raw -> enriched -> indexed rate for real.

    .venv/bin/python bench/bench_stream.py [--articles 3000] [--skip-kafka] [--py-spy OUT]
        [--workers 1 2]
    .venv/bin/python bench/bench_stream.py --in-order --articles 0   # whole corpus, in order

1. In process: `stream.enrich.pipeline.enrich` (what the agent runs) on ANT corpus articles, one
   after another with one growing cluster state: mean, p50, p99, articles/s on one core, CPU
   seconds per 1,000 articles, the mean CPU of each step (decode, language, entities, topics,
   cluster, assembling + encoding the result), and a cProfile of where the time goes.
   Target: >= 500 articles/s/core. ``--in-order`` takes the corpus in its own order instead
   (``--articles 0``: all ~31k), a long-running worker's steady state, and skips phase 2.
2. Through Kafka + Faust + the engine: N corpus articles wait in a fresh raw topic (own topics,
   consumer group and index prefix, set up as `rasad setup` does), then `rasad worker` (real
   subprocesses: ``--workers 2`` starts two, one consumer group splitting the raw topic's
   partitions, as a 2-core host runs them; ``--workers 1 2`` runs the phase once for each)
   enriches and indexes them. Rates count from the first enriched message: raw ->
   enriched to the last enriched message, raw -> indexed until all N are searchable (worker
   start-up excluded and printed apart). Targets: >= 500 articles/s each. The worker's CPU
   seconds per 1,000 articles over the same span make runs comparable on a loaded machine (the
   wall-clock rates depend on what else runs, so the load average is printed beside them).
   Topics and indices are deleted afterwards.
   ``--py-spy OUT`` samples the (first) worker, every thread, with py-spy (a dev dependency)
   into a speedscope file; sampling costs the worker little.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gzip
import io
import os
import pstats
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import orjson
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from measure import ProcessesCpu, loadavg, py_spy, searchable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexers.index.templates import ensure_index_setup
from producers.replay import corpus_article, source_for
from rasad.cli.stream import settle_collector
from rasad.core.article import Article
from rasad.core.engine.client import open_engine
from rasad.core.kafka import client_config
from rasad.core.settings import Settings
from rasad.core.topics import ensure_topics
from stream.enrich.cluster import StoryClusters
from stream.enrich.entities.extract import extract_entities
from stream.enrich.language import identify_language
from stream.enrich.pipeline import assemble, enrich, is_arabic, warm_up
from stream.enrich.topics.combined import tag_topics
from tests.index_fixtures import drop_prefix
from tests.pipeline_env import BenchPipeline
from tests.shared_data import CORPUS

ROOT = Path(__file__).resolve().parents[1]
# Worker start-up (group join, table recovery) plus N articles at a slow rate fit in this.
E2E_TIMEOUT_S = 300.0
# How often the engine is asked how many articles are searchable: each ask refreshes the index,
# so often enough to time the end within a quarter second, rarely enough to cost it little.
INDEX_POLL_MS = 250
# The run ends when every article is enriched and the indexed count has not moved for this long
# (an indexer that is stuck or missing), instead of waiting for the whole timeout.
STALL_S = 30.0
# The per-step means settle within a few thousand articles: a whole-corpus run (--in-order)
# measures its steps on its first ones rather than taking a second pass over all of it.
STEP_ARTICLES = 3000


def load_articles(n: int, in_order: bool = False) -> list[Article]:
    """Every k-th corpus article, so all outlets and categories are represented; or, with
    ``in_order``, the first ``n`` (0: all) in the corpus's own order, as a stream meets them."""
    with gzip.open(CORPUS, "rb") as handle:
        rows = [orjson.loads(line) for line in handle]
    picked = (rows[:n] if n else rows) if in_order else rows[:: max(1, len(rows) // n)][:n]
    now = datetime.now(UTC)
    return [
        corpus_article(row, source_for(str(row["source"]), {}), "replay:bench", now)
        for row in picked
    ]


def bench_functions(articles: list[Article]) -> float:
    """Enrich every article in process as the agent does (decode the raw JSON, enrich, encode);
    returns CPU seconds per 1,000 articles. Times are CPU times: the machine also runs the
    broker and the engine, so wall time is noise. The per-word caches start cold, as in a
    freshly started worker, so first-seen words cost their features here. The collector is
    set up as `rasad worker` sets it after its warm-up (rasad/cli/stream.py): without that,
    full collections over the loaded data cost this loop CPU the worker never spends."""
    warm_up()
    settle_collector()
    raws = [a.to_json() for a in articles]
    clusters = StoryClusters({})
    times: list[float] = []
    cpu_started = time.process_time()
    for raw in raws:
        started = time.process_time()
        enrich(Article.from_json(raw), clusters, datetime.now(UTC)).to_json()
        times.append(time.process_time() - started)
    cpu_per_1000 = (time.process_time() - cpu_started) / len(articles) * 1000
    times.sort()
    mean = statistics.fmean(times)
    print(f"decode + enrich() + encode: {len(times)} articles, cluster state grows to {len(times)}")
    print(
        f"  mean {mean * 1e3:.2f} ms   p50 {times[len(times) // 2] * 1e3:.2f} ms   "
        f"p99 {times[int(len(times) * 0.99)] * 1e3:.2f} ms   max {times[-1] * 1e3:.1f} ms"
    )
    print(f"  => {1 / mean:.0f} articles/s on one core (target >= 500)")
    print(f"  CPU: {cpu_per_1000:.2f} s per 1,000 articles   load average {loadavg()}")
    _bench_steps(articles[:STEP_ARTICLES])
    _profile(articles[: min(500, len(articles))])
    return cpu_per_1000


def _bench_steps(articles: list[Article]) -> None:
    """CPU per step, each article going through the steps in turn as in enrich() (so the topic
    tagger reuses the entity tagger's token lists, as it does there). Runs after
    bench_functions: the per-word caches are warm, the cluster state starts empty."""
    raws = [a.to_json() for a in articles]
    clusters = StoryClusters({})
    steps = ("decode", "language", "entities", "topics", "cluster", "assemble+encode")
    spent = dict.fromkeys(steps, 0.0)
    clock = time.process_time
    for raw in raws:
        t0 = clock()
        article = Article.from_json(raw)
        fields = {"title": article.title, "summary": article.summary, "body": article.body}
        t1 = clock()
        lang = identify_language(fields)
        t2 = clock()
        entities = extract_entities(fields) if is_arabic(lang) else []
        t3 = clock()
        topics = tag_topics(fields, entities) if is_arabic(lang) else []
        t4 = clock()
        now = datetime.now(UTC)
        cluster = clusters.assign(article.id, article.title, article.body or article.summary, now)
        t5 = clock()
        assemble(article, lang, entities, topics, cluster, now).to_json()
        t6 = clock()
        for step, took in zip(
            steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5), strict=True
        ):
            spent[step] += took
    n = len(raws)
    print(
        "  mean CPU per step (warm word caches): "
        + "   ".join(f"{step} {t / n * 1e3:.3f} ms" for step, t in spent.items())
        + f"   sum {sum(spent.values()) / n * 1e3:.3f} ms"
    )


def _profile(articles: list[Article]) -> None:
    clusters = StoryClusters({})
    profile = cProfile.Profile()
    profile.enable()
    for article in articles:
        enrich(article, clusters, datetime.now(UTC))
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(15)
    print(f"  cProfile, {len(articles)} articles, top functions by own time:")
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    print("\n".join("    " + line for line in lines[start : start + 16]))


@dataclass
class Run:
    """What one worker run through the real broker and engine measured."""

    articles: int
    startup_s: float = 0.0
    enriched_s: float = 0.0
    indexed_s: float = 0.0
    enriched: int = 0
    indexed: int = 0
    dead_lettered: int = 0
    cpu_s: float = 0.0

    @property
    def enrich_rate(self) -> float:
        return (self.enriched - 1) / self.enriched_s if self.enriched_s > 0 else 0.0

    @property
    def index_rate(self) -> float:
        return self.indexed / self.indexed_s if self.indexed_s > 0 else 0.0


async def _setup_index(settings: Settings) -> None:
    async with open_engine(settings) as engine:
        await ensure_index_setup(engine, settings)


async def _drop_index(settings: Settings) -> None:
    async with open_engine(settings) as engine:
        await drop_prefix(engine, settings)


def _publish(settings: Settings, articles: list[Article]) -> None:
    producer = KafkaProducer(acks="all", linger_ms=5, **client_config(settings))
    for article in articles:
        producer.send(settings.topic_raw, key=article.id.encode(), value=article.to_json())
    producer.flush()
    producer.close()


def _spawn_workers(
    line: BenchPipeline, data_dir: Path, logs: Sequence[BinaryIO]
) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i, log in enumerate(logs):
        (data_dir / str(i)).mkdir()
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "rasad.cli", "worker"],
                cwd=ROOT,
                env=line.env(data_dir / str(i)),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    return procs


def _teardown(
    line: BenchPipeline,
    procs: list[subprocess.Popen[bytes]],
    logs: Sequence[BinaryIO],
    sampler: subprocess.Popen[bytes] | None,
) -> None:
    """Stop the sampler and the workers, drop the run's topics and index."""
    if sampler is not None:
        sampler.send_signal(signal.SIGINT)
        sampler.wait(timeout=60)
    for w in procs:
        w.terminate()
    for w in procs:
        w.wait(timeout=60)
    for log in logs:
        log.close()
    admin = KafkaAdminClient(client_id="rasad-bench", **client_config(line.settings))
    admin.delete_topics([t for t in admin.list_topics() if line.tag in t])
    admin.close()
    asyncio.run(_drop_index(line.settings))


def bench_kafka(articles: list[Article], base: Settings, spy: Path | None, workers: int) -> Run:
    """N articles wait in a fresh raw topic; ``workers`` `rasad worker` processes (one consumer
    group, sharing the raw topic's partitions) enrich and index them."""
    line = BenchPipeline(base)
    settings = line.settings
    ensure_topics(settings)
    asyncio.run(_setup_index(settings))
    _publish(settings, articles)
    # The corpus repeats a few URLs (one id, two messages): what must arrive is each id once.
    n = len({a.id for a in articles})
    run = Run(n)
    data_dir = Path(tempfile.mkdtemp(prefix="rasad-bench-"))
    # Dead letters (raw: not enrichable; enriched: refused by the engine) carry the article's
    # key: those articles are accounted for, so the run does not wait for them as for a stall.
    enriched = settings.topic_enriched
    dead_letter_topics = {settings.dead_letter_topic(t) for t in (settings.topic_raw, enriched)}
    consumer = KafkaConsumer(
        enriched, *dead_letter_topics, auto_offset_reset="earliest", **client_config(settings)
    )
    logs = [(data_dir / f"worker{i}.log").open("wb") for i in range(workers)]
    started = time.perf_counter()
    procs = _spawn_workers(line, data_dir, logs)
    usage = ProcessesCpu(procs)
    sampler = py_spy(procs[0].pid, spy) if spy else None
    seen: set[bytes] = set()
    dead: set[bytes] = set()
    first = last = cpu_first = cpu_last = moved = 0.0
    try:
        while time.perf_counter() - started < E2E_TIMEOUT_S and all(
            w.poll() is None for w in procs
        ):
            for partition, records in consumer.poll(timeout_ms=INDEX_POLL_MS).items():
                if partition.topic in dead_letter_topics:
                    dead.update(r.key for r in records)
                    continue
                if not first:
                    first, cpu_first = time.perf_counter(), usage.cpu_s()
                seen.update(r.key for r in records)
                last, cpu_last = time.perf_counter(), usage.cpu_s()
            expected = n - len(dead)
            if first and run.indexed < expected:
                count = searchable(settings)
                if count > run.indexed or not moved:
                    run.indexed, moved = count, time.perf_counter()
                    cpu_last = max(cpu_last, usage.cpu_s())
                if run.indexed >= expected:
                    run.indexed_s = moved - first
            if len(seen - dead) >= expected and (
                run.indexed >= expected or time.perf_counter() - moved > STALL_S
            ):
                break
        # CPU until the last progress seen: a stall at the end would only add idle time.
        run.cpu_s = cpu_last - cpu_first
    finally:
        consumer.close()
        _teardown(line, procs, logs, sampler)
    run.enriched = len(seen - dead)
    run.dead_lettered = len(dead)
    run.startup_s = first - started if first else 0.0
    run.enriched_s = last - first
    if run.dead_lettered:
        print(f"Kafka+Faust: {run.dead_lettered} article(s) dead-lettered; see {data_dir}")
    if run.enriched + run.dead_lettered < n or run.indexed + run.dead_lettered < n:
        print(
            f"Kafka+Faust: {run.enriched}/{n} enriched, {run.indexed}/{n} indexed before the "
            f"timeout; worker logs: {data_dir}/worker*.log"
        )
    return run


def report(run: Run, in_process_cpu_ms: float, workers: int, load: tuple[float, ...]) -> None:
    n = run.articles
    print(
        f"Kafka+Faust: {n} articles raw -> enriched -> indexed by {workers} `rasad worker` "
        f"process(es) on {os.cpu_count()} cores; load average before "
        f"{load[0]:.2f}, after {os.getloadavg()[0]:.2f}"
    )
    print(f"  start-up until the first enriched message: {run.startup_s:.1f} s")
    print(
        f"  raw -> enriched: {run.enriched_s:.2f} s first -> last  => "
        f"{run.enrich_rate:.0f} articles/s (target >= 500)"
    )
    print(
        f"  raw -> indexed:  {run.indexed_s:.2f} s first enriched -> all searchable  => "
        f"{run.index_rate:.0f} articles/s (target >= 500)"
    )
    if run.cpu_s:
        per_1000 = run.cpu_s / run.enriched * 1000
        print(
            f"  worker CPU (all workers): {per_1000:.2f} s per 1,000 articles "
            f"({run.enriched / run.cpu_s:.0f} articles per CPU-second); enrich() alone in "
            f"process: {in_process_cpu_ms:.2f} s, so Faust, Kafka, indexing, alert matching "
            f"and enriching beside the busy servers add {per_1000 - in_process_cpu_ms:.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--skip-kafka", action="store_true")
    parser.add_argument(
        "--in-order",
        action="store_true",
        help="the first --articles (0: all ~31k) in corpus order, caches cold: a stream's steady "
        "state (in process only)",
    )
    parser.add_argument("--py-spy", type=Path, help="sample the (first) worker into this file")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1],
        help="worker processes for the Kafka phase; several values run it once per value",
    )
    args = parser.parse_args()
    articles = load_articles(args.articles, args.in_order)
    cpu_per_1000 = bench_functions(articles)
    if not args.skip_kafka and not args.in_order:
        for workers in args.workers:
            load = os.getloadavg()
            spy = args.py_spy
            if spy is not None and len(args.workers) > 1:
                spy = spy.with_stem(f"{spy.stem}-{workers}w")
            run = bench_kafka(articles, Settings(), spy, workers)
            report(run, cpu_per_1000, workers, load)


if __name__ == "__main__":
    main()
