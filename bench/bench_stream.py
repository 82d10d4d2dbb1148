"""Enrichment cost per article, and the agent's raw -> enriched rate through the real broker.

    .venv/bin/python bench/bench_stream.py [--articles 3000] [--skip-kafka]

1. In process: `stream.enrich.pipeline.enrich` (what the agent runs) on ANT corpus articles, one
   after another with one growing cluster state: mean, p50, p99, articles/s on one core, the
   mean of each step, and a cProfile of where the time goes. Target: >= 500 articles/s/core.
2. Through Kafka + Faust: N corpus articles are produced to a fresh raw topic, then `rasad
   worker` (a real subprocess) is started and the enriched topic is read until N arrive. The
   rate is counted from the first enriched message to the last (worker start-up excluded, and
   printed separately). Target: >= 500 articles/s. Topics are deleted afterwards.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import io
import os
import pstats
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from producers.replay import corpus_article, source_for
from rasad.article import Article
from rasad.kafka_config import client_config
from rasad.settings import Settings
from stream.enrich.cluster import StoryClusters
from stream.enrich.entities import extract_entities
from stream.enrich.language import identify_language
from stream.enrich.pipeline import enrich, warm_up
from stream.enrich.topics import tag_topics

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "corpus" / "ant-multisource.jsonl.gz"
# Worker start-up (group join, table recovery) plus N articles at a slow rate fit in this.
E2E_TIMEOUT_S = 300.0


def load_articles(n: int) -> list[Article]:
    """Every k-th corpus article, so all outlets and categories are represented."""
    with gzip.open(CORPUS, "rb") as handle:
        rows = [orjson.loads(line) for line in handle]
    step = max(1, len(rows) // n)
    now = datetime.now(UTC)
    return [
        corpus_article(row, source_for(str(row["source"]), {}), "replay:bench", now)
        for row in rows[::step][:n]
    ]


def bench_functions(articles: list[Article]) -> float:
    warm_up()
    clusters = StoryClusters({})
    times: list[float] = []
    for article in articles:
        started = time.perf_counter()
        enrich(article, clusters, datetime.now(UTC))
        times.append(time.perf_counter() - started)
    times.sort()
    mean = statistics.fmean(times)
    print(f"enrich(): {len(times)} articles, cluster state grows to {len(times)}")
    print(
        f"  mean {mean * 1e3:.2f} ms   p50 {times[len(times) // 2] * 1e3:.2f} ms   "
        f"p99 {times[int(len(times) * 0.99)] * 1e3:.2f} ms   max {times[-1] * 1e3:.1f} ms"
    )
    print(f"  => {1 / mean:.0f} articles/s on one core (target >= 500)")
    _bench_steps(articles)
    _profile(articles[: min(500, len(articles))])
    return 1 / mean


def _bench_steps(articles: list[Article]) -> None:
    fields = [{"title": a.title, "summary": a.summary, "body": a.body} for a in articles]
    now = datetime.now(UTC)
    started = time.perf_counter()
    for f in fields:
        identify_language(f)
    language = time.perf_counter() - started
    started = time.perf_counter()
    entity_lists = [extract_entities(f) for f in fields]
    entities = time.perf_counter() - started
    started = time.perf_counter()
    for f, e in zip(fields, entity_lists, strict=True):
        tag_topics(f, e)
    topics = time.perf_counter() - started
    clusters = StoryClusters({})
    started = time.perf_counter()
    for a in articles:
        clusters.assign(a.id, a.title, a.body or a.summary, now)
    cluster = time.perf_counter() - started
    n = len(articles)
    print(
        "  mean per step: "
        + "   ".join(
            f"{name} {t / n * 1e3:.3f} ms"
            for name, t in (
                ("language", language),
                ("entities", entities),
                ("topics", topics),
                ("cluster", cluster),
            )
        )
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


def bench_kafka(articles: list[Article], settings: Settings) -> float:
    tag = uuid.uuid4().hex[:10]
    raw, enriched = f"bench.raw.{tag}", f"bench.enriched.{tag}"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data_dir = Path(tempfile.mkdtemp(prefix="rasad-bench-"))
    env = {
        **os.environ,
        "RASAD_STREAM_APP_ID": f"rasad-bench-{tag}",
        "RASAD_TOPIC_RAW": raw,
        "RASAD_TOPIC_ENRICHED": enriched,
        "RASAD_TOPIC_ALERT_HITS": f"bench.hits.{tag}",
        "RASAD_WORKER_WEB_PORT": str(port),
        "RASAD_DATA_DIR": str(data_dir),
        "RASAD_LOG_LEVEL": "WARNING",
    }
    consumer = KafkaConsumer(enriched, auto_offset_reset="earliest", **client_config(settings))
    log = (data_dir / "worker.log").open("wb")
    started = time.perf_counter()
    # The worker creates the topics (rasad.topics.ensure_topics) with the configured partitions;
    # the articles are produced once it has, and queue up while it joins its group.
    worker = subprocess.Popen(
        [sys.executable, "-m", "rasad.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    admin = KafkaAdminClient(client_id="rasad-bench", **client_config(settings))
    while raw not in admin.list_topics() and worker.poll() is None:
        time.sleep(0.2)
    producer = KafkaProducer(acks="all", linger_ms=5, **client_config(settings))
    for article in articles:
        producer.send(raw, key=article.id.encode(), value=article.to_json())
    producer.flush()
    producer.close()
    first = last = 0.0
    received = 0
    try:
        while received < len(articles) and time.perf_counter() - started < E2E_TIMEOUT_S:
            for records in consumer.poll(timeout_ms=200).values():
                if not first:
                    first = time.perf_counter()
                received += len(records)
                last = time.perf_counter()
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        log.close()
        consumer.close()
        admin.delete_topics([t for t in admin.list_topics() if tag in t])
        admin.close()
    if received < len(articles):
        print(
            f"Kafka+Faust: only {received}/{len(articles)} enriched before the timeout; "
            f"worker log: {data_dir / 'worker.log'}"
        )
        return 0.0
    rate = (received - 1) / (last - first) if last > first else float("inf")
    print(f"Kafka+Faust: {received} articles raw -> enriched by one `rasad worker`")
    print(f"  start-up until the first enriched message: {first - started:.1f} s")
    print(
        f"  first -> last enriched: {last - first:.2f} s  => {rate:.0f} articles/s (target >= 500)"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--skip-kafka", action="store_true")
    args = parser.parse_args()
    articles = load_articles(args.articles)
    in_process = bench_functions(articles)
    if not args.skip_kafka:
        through_kafka = bench_kafka(articles, Settings())
        if through_kafka:
            print(
                f"  ratio Kafka+Faust / in-process function rate: {through_kafka / in_process:.2f}"
            )


if __name__ == "__main__":
    main()
