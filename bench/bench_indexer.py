"""Indexer and search benchmark against the real local engine.

1. Throughput: articles/s through ``IndexSink`` (document building, batching, external
   versioning, outcome handling) vs a plain bulk load of the same pre-built documents into the
   same engine in the same run. Each runs into its own fresh index prefix, twice, alternating;
   the better run of each counts. Target: ratio >= 0.8.
2. The indexer agent (``--agent``, on by default): ``--agent-docs`` pre-enriched articles wait
   in a fresh enriched topic (own raw/enriched/alert-hits topics and index prefix, made by
   `rasad setup`); a real `rasad worker` subprocess indexes them. The clock starts when the
   engine has acknowledged the first documents (the worker's own count; start-up excluded and
   printed apart; those first documents are not counted) and stops when it has all of them, as
   the plain bulk is timed to its last acknowledged request; all are checked searchable after.
   Baseline: a plain bulk load of the same documents into another fresh index, run before and
   after the worker; the better one counts.
   Target: ratio >= 0.8. Topics and indices are deleted afterwards.
3. Search latency: the 31,525 corpus articles replicated ``--replicas`` times with distinct ids
   (>= 100,000 articles) loaded through the sink, then typical analyst queries (with facets and
   highlights, as the UI asks) run ``--rounds`` times each, and the measured figure: ``--mix``
   distinct searches drawn from the index (bench/search_mix.py; a page-2 search counts its two
   requests as one), one after another as one analyst sends them. Target: p95 < 100 ms.

Run: ``.venv/bin/python bench/bench_indexer.py`` (``--keep`` keeps the big index; ``--no-sink``,
``--no-agent``, ``--no-search`` skip a phase). CPU per document of the engine (and of the worker)
and the load average are printed beside each rate: on a shared 2-core box the rates move with
other jobs, CPU per document much less.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
from kafka import KafkaAdminClient, KafkaProducer
from measure import cpu_seconds, engine_pid, loadavg, searchable
from prometheus_client.parser import text_string_to_metric_families
from search_mix import query_mix, search_request

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexers.index.documents import article_index, to_document
from indexers.index.sink import IndexSink
from indexers.index.templates import ensure_index_setup, write_generation
from indexers.search.query import Filters
from indexers.search.searcher import SearchRequest, search
from rasad.core.article import EnrichedArticle
from rasad.core.deadletter import DeadLetter
from rasad.core.engine.client import Engine
from rasad.core.kafka import client_config
from rasad.core.settings import Settings
from tests.index_fixtures import drop_prefix, raw_corpus, to_enriched
from tests.pipeline_env import BenchPipeline

ROOT = Path(__file__).resolve().parents[1]
# Worker start-up (group join, table recovery) plus 10,000 documents at a slow rate fit in this.
AGENT_TIMEOUT_S = 300.0
# How often the worker's count of indexed documents is read: the end is timed within a quarter
# second, and a /metrics page a few times a second costs the worker nothing measurable.
COUNT_POLL_S = 0.25

QUERIES: list[tuple[str, SearchRequest]] = [
    ("word", SearchRequest(query="ترامب")),
    ("clitic", SearchRequest(query="والعقوبات")),
    ("phrase", SearchRequest(query='"فرض عقوبات"')),
    ("boolean", SearchRequest(query="ترامب AND (إيران OR روسيا) NOT كوريا")),
    ("synonym multiword", SearchRequest(query="الولايات المتحدة")),
    ("topic filter", SearchRequest(query="ترمب", filters=Filters(topics=("sanctions",)))),
    (
        "entity newest",
        SearchRequest(filters=Filters(entities=("Q794",)), sort="newest"),
    ),
    (
        "source filter",
        SearchRequest(query="كأس العالم", filters=Filters(sources=("skynewsarabia",))),
    ),
    (
        "date range",
        SearchRequest(
            query="النفط",
            filters=Filters(
                date_from=datetime(2018, 3, 1, tzinfo=UTC),
                date_to=datetime(2018, 5, 31, tzinfo=UTC),
            ),
        ),
    ),
]


def replicate(base: list[EnrichedArticle], replicas: int) -> list[EnrichedArticle]:
    out = list(base)
    for r in range(1, replicas):
        out.extend(a.model_copy(update={"id": f"{a.id[:12]}r{r:03d}"}) for a in base)
    return out


async def fresh(engine: Engine, base: Settings) -> Settings:
    values = base.model_dump()
    values["index_prefix"] = f"bench{uuid.uuid4().hex[:8]}"
    settings = Settings(**values)
    await ensure_index_setup(engine, settings)
    return settings


async def through_sink(
    engine: Engine, settings: Settings, articles: list[EnrichedArticle]
) -> float:
    async def refuse(letter: DeadLetter) -> None:
        raise RuntimeError(f"{letter.key!r}: {letter.error}")

    sink = IndexSink(engine, settings, refuse)
    started = time.perf_counter()
    for article in articles:
        await sink.add(article)
    await sink.flush()
    elapsed = time.perf_counter() - started
    assert sink.totals["indexed"] == len(articles), sink.totals
    return len(articles) / elapsed


async def plain_bulk(engine: Engine, settings: Settings, articles: list[EnrichedArticle]) -> float:
    gen = await write_generation(engine, settings)
    assert gen is not None
    now = datetime.now(UTC)
    # Pre-built outside the timed section: the baseline is the engine's own bulk speed.
    lines = [
        orjson.dumps(
            {
                "index": {
                    "_index": article_index(gen, a.published_at),
                    "_id": a.id,
                    "version": a.version,
                    "version_type": "external",
                }
            }
        )
        + b"\n"
        + orjson.dumps(to_document(a, now))
        + b"\n"
        for a in articles
    ]
    size = settings.indexer_batch_count
    chunks = [b"".join(lines[i : i + size]) for i in range(0, len(lines), size)]
    server = engine_pid(settings)
    cpu = cpu_seconds(server)
    started = time.perf_counter()
    for chunk in chunks:
        result = await engine.bulk(chunk)
        assert not result["errors"]
    rate = len(articles) / (time.perf_counter() - started)
    if server is not None:
        ms = (cpu_seconds(server) - cpu) / len(articles) * 1000
        print(f"    engine CPU {ms:.2f} ms/doc, load {loadavg()}")
    return rate


def _worker_counts(metrics_url: str) -> tuple[int, int]:
    """(documents the worker's sink has had acknowledged by the engine, bulk requests it sent
    that succeeded), read from its /metrics page; (0, 0) while the page is not up."""
    try:
        page = httpx.get(metrics_url, timeout=5)
    except httpx.HTTPError:
        return 0, 0
    if page.status_code != 200:
        return 0, 0
    indexed = requests = 0
    for family in text_string_to_metric_families(page.text):
        for sample in family.samples:
            if sample.labels.get("outcome") == "indexed" and (
                sample.name == "rasad_indexer_documents_total"
            ):
                indexed = int(sample.value)
            elif sample.labels.get("outcome") == "ok" and (
                sample.name == "rasad_indexer_bulk_requests_total"
            ):
                requests = int(sample.value)
    return indexed, requests


def through_agent(base: Settings, articles: list[EnrichedArticle]) -> tuple[float, float]:
    """Pre-enriched articles wait in a fresh enriched topic; a real `rasad worker` indexes them.
    Returns (documents/s once the first are durable in the engine, start-up seconds).

    Progress is read from the worker's own count of documents the engine acknowledged, as the
    plain bulk baseline is timed to its last acknowledged request: forcing a refresh to count
    searchable documents every quarter second cost the engine ~5% during the agent's run only.
    Every document is checked searchable at the end."""
    line = BenchPipeline(base)
    settings = line.settings
    data_dir = Path(tempfile.mkdtemp(prefix="rasad-bench-indexer-"))
    # The caller's RASAD_* settings reach the worker (e.g. RASAD_INDEXER_BATCH_SECONDS).
    env = line.env(data_dir)
    try:
        setup = subprocess.run(
            [sys.executable, "-m", "rasad.cli", "setup"], cwd=ROOT, env=env, capture_output=True
        )
        if setup.returncode != 0:
            raise RuntimeError(f"rasad setup failed: {setup.stderr.decode(errors='replace')}")
        producer = KafkaProducer(acks="all", linger_ms=5, **client_config(settings))
        for article in articles:
            producer.send(settings.topic_enriched, key=article.id.encode(), value=article.to_json())
        producer.flush()
        producer.close()
        n = len({a.id for a in articles})
        log = (data_dir / "worker.log").open("wb")
        started = time.perf_counter()
        worker = subprocess.Popen(
            [sys.executable, "-m", "rasad.cli", "worker"],
            cwd=ROOT,
            env={**env, "RASAD_WORKER_WEB_PORT": str(line.web_port)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        first = last = 0.0
        first_count = count = bulks = 0
        server, me = engine_pid(settings), worker.pid
        cpu_at_first = (0.0, 0.0)
        try:
            while count < n and time.perf_counter() - started < AGENT_TIMEOUT_S:
                if worker.poll() is not None:
                    raise RuntimeError(f"worker exited; log: {data_dir / 'worker.log'}")
                time.sleep(COUNT_POLL_S)
                count, bulks = _worker_counts(line.metrics_url)
                last = time.perf_counter()
                if count and not first:
                    first, first_count = last, count
                    cpu_at_first = (cpu_seconds(me), cpu_seconds(server))
            done = n - first_count
            worker_ms = (cpu_seconds(me) - cpu_at_first[0]) / max(done, 1) * 1000
            engine_ms = (cpu_seconds(server) - cpu_at_first[1]) / max(done, 1) * 1000
            print(
                f"    worker CPU {worker_ms:.2f} ms/doc, engine CPU {engine_ms:.2f} ms/doc, "
                f"{count / max(bulks, 1):.0f} docs per bulk request, load {loadavg()}"
            )
        finally:
            worker.terminate()
            worker.wait(timeout=60)
            log.close()
        if count < n:
            raise RuntimeError(f"{count}/{n} indexed after {AGENT_TIMEOUT_S:.0f} s")
        if (found := searchable(settings)) != n:
            raise RuntimeError(f"{found}/{n} searchable after the worker indexed {count}")
        return (n - first_count) / (last - first), first - started
    finally:
        admin = KafkaAdminClient(client_id="rasad-bench", **client_config(settings))
        admin.delete_topics([t for t in admin.list_topics() if line.tag in t])
        admin.close()
        asyncio.run(_drop(settings))


async def _drop(settings: Settings) -> None:
    async with await Engine.connect(settings) as engine:
        await drop_prefix(engine, settings)


async def agent_vs_bulk(
    engine: Engine, base_settings: Settings, articles: list[EnrichedArticle]
) -> None:
    plain_rates: list[float] = []

    async def plain() -> None:
        settings = await fresh(engine, base_settings)
        try:
            plain_rates.append(await plain_bulk(engine, settings, articles))
        finally:
            await drop_prefix(engine, settings)
        print(f"  plain bulk {plain_rates[-1]:8.0f} docs/s ({len(articles)} documents)")

    await plain()
    # A thread: the worker is timed with blocking calls (subprocess, kafka-python, httpx).
    rate, startup = await asyncio.to_thread(through_agent, base_settings, articles)
    print(f"  agent      {rate:8.0f} docs/s (worker start-up {startup:.1f} s, excluded)")
    await plain()
    print(
        f"agent throughput: agent {rate:.0f}/s, plain bulk {max(plain_rates):.0f}/s, "
        f"ratio {rate / max(plain_rates):.2f} (target >= 0.8)"
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(args: argparse.Namespace) -> None:
    base_settings = Settings()
    print("loading corpus …", flush=True)
    base = [to_enriched(raw) for raw in raw_corpus(None)]
    async with await Engine.connect(base_settings) as engine:
        print(f"engine: {engine.info.kind} {engine.info.version}")
        sample = base[: args.ratio_docs]
        sink_rates: list[float] = []
        plain_rates: list[float] = []
        for _ in range(2 if args.sink else 0):
            for kind, runner, rates in (
                ("plain bulk", plain_bulk, plain_rates),
                ("sink", through_sink, sink_rates),
            ):
                settings = await fresh(engine, base_settings)
                try:
                    rates.append(await runner(engine, settings, sample))
                finally:
                    await drop_prefix(engine, settings)
                print(f"  {kind:10s} {rates[-1]:8.0f} articles/s ({len(sample)} articles)")
        if args.sink:
            ratio = max(sink_rates) / max(plain_rates)
            print(
                f"throughput: sink {max(sink_rates):.0f}/s, plain bulk {max(plain_rates):.0f}/s, "
                f"ratio {ratio:.2f} (target >= 0.8)"
            )
        if args.agent:
            await agent_vs_bulk(engine, base_settings, base[: args.agent_docs])
        if not args.search:
            return

        articles = replicate(base, args.replicas)
        settings = await fresh(engine, base_settings)
        try:
            print(f"loading {len(articles):,} articles through the sink …", flush=True)
            rate = await through_sink(engine, settings, articles)
            print(f"  {rate:.0f} articles/s at scale")
            await engine.refresh(settings.articles_read_alias)
            total = await engine.count(settings.articles_read_alias)
            print(f"indexed: {total:,} articles")
            for _, request in QUERIES:  # warm-up: first use of each query shape
                await search(engine, settings, request)
            latencies: list[float] = []
            for name, request in QUERIES:
                mine = []
                for _ in range(args.rounds):
                    started = time.perf_counter()
                    result = await search(engine, settings, request)
                    mine.append((time.perf_counter() - started) * 1000)
                latencies.extend(mine)
                print(
                    f"  {name:18s} p50 {statistics.median(mine):6.1f} ms  "
                    f"p95 {percentile(mine, 0.95):6.1f} ms  hits {result.total:,}"
                )
            print(
                f"typical shapes, {len(latencies)} searches (repeated: the engine's request "
                f"cache answers their facets after the first round): "
                f"p50 {statistics.median(latencies):.1f} ms, "
                f"p95 {percentile(latencies, 0.95):.1f} ms"
            )
            wide: list[float] = []
            for params in await query_mix(engine, settings, args.mix, seed=7):
                started = time.perf_counter()
                page = await search(engine, settings, search_request(params))
                if params.get("page") == 2 and page.next_cursor:
                    await search(engine, settings, search_request(params, page.next_cursor))
                wide.append((time.perf_counter() - started) * 1000)
            print(
                f"search latency, one analyst, {len(wide)} distinct searches on {total:,} "
                f"articles: p50 {statistics.median(wide):.1f} ms, "
                f"p95 {percentile(wide, 0.95):.1f} ms (target p95 < 100 ms; load {loadavg()})"
            )
        finally:
            if args.keep:
                print(f"kept index prefix {settings.index_prefix}")
            else:
                await drop_prefix(engine, settings)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicas", type=int, default=4, help="copies of the corpus to index")
    parser.add_argument("--ratio-docs", type=int, default=10_000, help="articles per ratio run")
    parser.add_argument(
        "--agent",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time a real `rasad worker` indexing pre-enriched documents",
    )
    parser.add_argument("--agent-docs", type=int, default=10_000, help="documents for --agent")
    parser.add_argument(
        "--sink",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time IndexSink vs plain bulk in-process",
    )
    parser.add_argument(
        "--search",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="load the big index and time the analyst queries",
    )
    parser.add_argument("--rounds", type=int, default=20, help="runs of each typical query")
    parser.add_argument(
        "--mix", type=int, default=600, help="distinct searches of the measured mix (search_mix)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the big index afterwards")
    asyncio.run(main(parser.parse_args()))
