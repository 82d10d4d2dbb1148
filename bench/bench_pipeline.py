"""End-to-end pipeline benchmark: real corpus -> producer -> Kafka -> Faust -> indexer -> engine.

    .venv/bin/python bench/bench_pipeline.py [--articles 31525] [--fresh-seconds 60]

Every phase runs real `rasad` processes against the local stack (RASAD_* settings; the shared
stack on 127.0.0.1 by default), each phase with its own topics, consumer group and index
prefix, deleted afterwards.

1. One worker: the worker is started and has joined its group, then `rasad produce --replay
   --rate 0` publishes N corpus articles as fast as Kafka takes them. Throughput = unique
   articles indexed / (last indexed - producer start), so publishing, enrichment and indexing
   all count. CPU (share of one core) and peak RSS of every process, the servers included.
2. Baseline: the same enriched documents (read back from phase 1's enriched topic) bulk-loaded
   straight into a fresh index with the indexer's own sink (``IndexSink``): the engine's rate
   on this machine without Kafka or Faust. Ratio = phase 1 / phase 2. Target >= 0.5.
3. Two workers: phase 1 again with two `rasad worker` processes sharing the partitions.
4. Freshness at a steady rate (default 50 articles/s for 60 s): publish -> searchable per
   article = the moment a search first returns it (the engine is polled every 100 ms, so this
   is late by 50 ms on average) minus the raw message's Kafka timestamp (set when the producer
   sent it). Target p95 <= 2 s.

Targets on the 2-core box with everything on it: >= 500 articles/s end to end, ratio >= 0.5,
freshness p95 <= 2 s. ``--write-docs`` puts the table and the command into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil
from kafka import KafkaConsumer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexers.index.sink import IndexSink
from indexers.index.templates import ensure_index_setup
from rasad.core.article import EnrichedArticle
from rasad.core.deadletter import DeadLetter
from rasad.core.engine.client import Engine, open_engine
from rasad.core.kafka import client_config
from rasad.core.settings import Settings
from rasad.stack import control as stack
from tests.fault_fixtures import Pipeline, corpus_slice

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"
START, END = "<!-- bench_pipeline:start -->", "<!-- bench_pipeline:end -->"
# Sampling period of process CPU/RSS and of the indexed count: fine enough for a peak of a
# process that lives tens of seconds, cheap enough not to show in the figures.
SAMPLE_S = 0.5
# The freshness poller's period: the error it adds to each latency is half of it on average.
FRESH_POLL_S = 0.1
# A phase is over when nothing new was indexed for this long (e.g. a worker died).
STALL_S = 60.0
# A worker loads its models and joins its group in ~10-20 s; a loaded box needs more.
READY_TIMEOUT_S = 180.0
# Workers get quieter logs than the default INFO: a benchmark measures work, not logging.
QUIET = {"RASAD_LOG_LEVEL": "WARNING"}


@dataclass
class Usage:
    """CPU seconds and peak RSS of the processes of one phase, sampled with psutil."""

    processes: dict[str, psutil.Process] = field(default_factory=dict)
    cpu_start: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    peak_rss: dict[str, int] = field(default_factory=dict)

    def watch(self, name: str, pid: int) -> None:
        process = psutil.Process(pid)
        self.processes[name] = process
        times = process.cpu_times()
        self.cpu_start[name] = times.user + times.system
        self.peak_rss[name] = process.memory_info().rss

    def sample(self) -> None:
        for name, process in self.processes.items():
            try:
                times = process.cpu_times()
                self.cpu[name] = times.user + times.system - self.cpu_start[name]
                self.peak_rss[name] = max(self.peak_rss[name], process.memory_info().rss)
            except psutil.NoSuchProcess:  # the producer exits before the workers are done
                continue


@dataclass
class Phase:
    name: str
    articles: int = 0
    seconds: float = 0.0
    usage: Usage = field(default_factory=Usage)
    note: str = ""

    @property
    def rate(self) -> float:
        return self.articles / self.seconds if self.seconds else 0.0


def watch_servers(usage: Usage, settings: Settings) -> None:
    for status in stack.status(settings):
        if status.pid is not None:
            usage.watch(status.name, status.pid)


async def wait_ready(line: Pipeline, workers: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        members = line.group_members()
        if len(members) == workers and all(members.values()):
            return
        if line.crashed() or time.monotonic() > deadline:
            raise SystemExit(f"workers did not join their group\n{line.logs()}")
        await asyncio.sleep(SAMPLE_S)


async def run_pipeline(
    engine: Engine, base: Settings, corpus: Path, expected: int, workers: int, root: Path
) -> tuple[Phase, Pipeline]:
    """Phases 1 and 3: N articles through real processes; returns the phase and its pipeline
    (still holding its topics, for the baseline to read; the caller closes it)."""
    line = Pipeline(base, root / f"workers-{workers}", extra_env=QUIET)
    line.root.mkdir(parents=True)
    line.setup()
    phase = Phase(f"end to end, {workers} worker(s)")
    watch_servers(phase.usage, base)
    for i in range(workers):
        phase.usage.watch(f"worker {i + 1}", line.worker(f"worker-{i + 1}").pid)
    await wait_ready(line, workers)
    alias = line.settings.articles_read_alias
    started = time.monotonic()
    producer = line.replay(corpus, 0)
    phase.usage.watch("producer", producer.pid)
    count, last_growth = 0, time.monotonic()
    while count < expected and time.monotonic() - last_growth < STALL_S:
        await asyncio.sleep(SAMPLE_S)
        phase.usage.sample()
        now_count = await engine.count(alias)
        if now_count > count:
            count, last_growth = now_count, time.monotonic()
    phase.articles, phase.seconds = count, last_growth - started
    if count < expected:
        phase.note = f"only {count} of {expected} indexed (stalled {STALL_S:.0f} s)"
    return phase, line


def read_enriched(settings: Settings) -> list[EnrichedArticle]:
    """Every enriched article of a topic, the latest version of each id."""
    consumer = KafkaConsumer(enable_auto_commit=False, **client_config(settings))
    try:
        tps = [TopicPartition(settings.topic_enriched, p) for p in range(settings.topic_partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        latest: dict[str, EnrichedArticle] = {}
        while any(consumer.position(tp) < end[tp] for tp in tps):
            for records in consumer.poll(timeout_ms=1000, max_records=5000).values():
                for record in records:
                    article = EnrichedArticle.from_json(record.value)
                    if article.id not in latest or latest[article.id].version < article.version:
                        latest[article.id] = article
        return list(latest.values())
    finally:
        consumer.close()


async def baseline(engine: Engine, base: Settings, articles: list[EnrichedArticle]) -> Phase:
    """Phase 2: the indexer's own sink straight into the engine, no Kafka, no Faust."""
    settings = base.model_copy(update={"index_prefix": f"benchbase-{time.time_ns():x}"})
    await ensure_index_setup(engine, settings)

    async def refuse(letter: DeadLetter) -> None:
        raise RuntimeError(f"baseline refused {letter.key!r}: {letter.error}")

    phase = Phase("baseline: IndexSink -> engine")
    watch_servers(phase.usage, base)
    phase.usage.watch("bench (sink)", psutil.Process().pid)
    sink = IndexSink(engine, settings, refuse)
    started = time.monotonic()
    for i, article in enumerate(articles):
        await sink.add(article)
        if i % 2000 == 0:
            phase.usage.sample()
    await sink.flush()
    phase.seconds = time.monotonic() - started
    phase.usage.sample()
    phase.articles = sink.totals["indexed"]
    await engine.delete_index(f"{settings.index_prefix}-*")
    return phase


async def freshness(
    engine: Engine, base: Settings, rate: float, seconds: float, root: Path
) -> tuple[Phase, list[float]]:
    """Phase 4: latencies publish -> searchable at a steady rate."""
    corpus = root / "fresh.jsonl"
    expected = corpus_slice(corpus, 0, int(rate * seconds))
    line = Pipeline(base, root / "fresh", extra_env=QUIET)
    line.root.mkdir(parents=True)
    phase = Phase(f"steady {rate:.0f}/s, 1 worker")
    try:
        line.setup()
        line.worker()
        await wait_ready(line, 1)
        alias = line.settings.articles_read_alias
        seen: dict[str, float] = {}
        started = time.monotonic()
        line.replay(corpus, rate)
        last_growth = time.monotonic()
        while len(seen) < len(expected) and time.monotonic() - last_growth < STALL_S:
            body = {
                "size": 1000,
                "_source": False,
                "query": {"bool": {"must_not": {"ids": {"values": list(seen)[-2000:]}}}},
                "sort": [{"indexed_at": "desc"}],
            }
            hits = (await engine.search(alias, body))["hits"]["hits"]
            now = time.time()
            for hit in hits:
                if hit["_id"] not in seen:
                    seen[hit["_id"]] = now
                    last_growth = time.monotonic()
            await asyncio.sleep(FRESH_POLL_S)
        phase.articles, phase.seconds = len(seen), last_growth - started
        sent = kafka_timestamps(line.settings)
        latencies = sorted(seen[k] - sent[k] for k in seen if k in sent)
        return phase, latencies
    finally:
        line.close()


def kafka_timestamps(settings: Settings, topic: str | None = None) -> dict[str, float]:
    """Key -> the time its first message was sent to ``topic`` (the raw topic by default;
    Kafka CreateTime, seconds)."""
    consumer = KafkaConsumer(enable_auto_commit=False, **client_config(settings))
    try:
        name = topic or settings.topic_raw
        tps = [TopicPartition(name, p) for p in range(settings.topic_partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        sent: dict[str, float] = {}
        while any(consumer.position(tp) < end[tp] for tp in tps):
            for records in consumer.poll(timeout_ms=1000).values():
                for r in records:
                    sent.setdefault(r.key.decode(), r.timestamp / 1000)
        return sent
    finally:
        consumer.close()


def percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


def usage_text(usage: Usage, seconds: float) -> str:
    return "; ".join(
        f"{name} {usage.cpu.get(name, 0.0) / seconds * 100:.0f}% CPU "
        f"{usage.peak_rss[name] / 2**20:.0f} MB"
        for name in usage.processes
    )


def table(
    phases: list[Phase], latencies: list[float], fresh_rate: float, command: str
) -> list[str]:
    one, base, two, fresh = phases
    ratio = one.rate / base.rate if base.rate else 0.0
    rows = [
        f"Run {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GB RAM; command: `{command}`",
        "",
        "| phase | articles | seconds | articles/s | target |",
        "|---|---:|---:|---:|---|",
        f"| {one.name} | {one.articles} | {one.seconds:.1f} | {one.rate:.0f} | >= 500 |",
        f"| {base.name} | {base.articles} | {base.seconds:.1f} | {base.rate:.0f} | |",
        f"| ratio end to end / baseline | | | {ratio:.2f} | >= 0.5 |",
        f"| {two.name} | {two.articles} | {two.seconds:.1f} | {two.rate:.0f} | > one worker |",
        f"| {fresh.name} | {fresh.articles} | {fresh.seconds:.1f} | {fresh.rate:.0f} | |",
        "",
        f"Freshness publish -> searchable at {fresh_rate:.0f}/s ({len(latencies)} articles): "
        f"p50 {percentile(latencies, 0.5):.2f} s, p95 {percentile(latencies, 0.95):.2f} s, "
        f"p99 {percentile(latencies, 0.99):.2f} s, max {percentile(latencies, 1.0):.2f} s "
        "(target p95 <= 2 s).",
        "",
        "CPU (share of one core over the phase) and peak RSS per process:",
        "",
    ]
    for phase in (one, base, two):
        rows.append(f"- {phase.name}: {usage_text(phase.usage, phase.seconds)}")
    rows += [f"- note: {p.name}: {p.note}" for p in phases if p.note]
    return rows


def write_docs(lines: list[str]) -> None:
    text = DOCS.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{DOCS} has no {START} ... {END} section")
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    DOCS.write_text(head + START + "\n" + "\n".join(lines) + "\n" + END + tail, encoding="utf-8")


async def main(args: argparse.Namespace) -> None:
    base = Settings()
    with tempfile.TemporaryDirectory(prefix="rasad-bench-") as tmp:
        root = Path(tmp)
        corpus = root / "corpus.jsonl"
        expected = len(corpus_slice(corpus, 0, args.articles))
        print(f"{args.articles} corpus articles, {expected} unique; running …", flush=True)
        async with open_engine(base) as engine:
            one, line = await run_pipeline(engine, base, corpus, expected, 1, root)
            print(f"  {one.name}: {one.rate:.0f} articles/s {one.note}", flush=True)
            try:
                enriched = read_enriched(line.settings)
            finally:
                line.close()
            base_phase = await baseline(engine, base, enriched)
            print(f"  {base_phase.name}: {base_phase.rate:.0f} articles/s", flush=True)
            two, line = await run_pipeline(engine, base, corpus, expected, 2, root)
            line.close()
            print(f"  {two.name}: {two.rate:.0f} articles/s {two.note}", flush=True)
            fresh, latencies = await freshness(
                engine, base, args.fresh_rate, args.fresh_seconds, root
            )
    command = "python bench/bench_pipeline.py " + shlex.join(sys.argv[1:])
    lines = table([one, base_phase, two, fresh], latencies, args.fresh_rate, command.strip())
    print("\n".join(lines))
    if args.write_docs:
        write_docs(lines)
        print(f"written to {DOCS}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=31_525, help="corpus articles to replay")
    parser.add_argument("--fresh-rate", type=float, default=50.0, help="steady articles/s")
    parser.add_argument("--fresh-seconds", type=float, default=60.0, help="steady run length")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    asyncio.run(main(parser.parse_args()))
