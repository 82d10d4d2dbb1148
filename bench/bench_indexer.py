"""Indexer and search benchmark against the real local engine.

1. Throughput: articles/s through ``IndexSink`` (document building, batching, external
   versioning, outcome handling) vs a plain bulk load of the same pre-built documents into the
   same engine in the same run. Each runs into its own fresh index prefix, twice, alternating;
   the better run of each counts. Target: ratio >= 0.8.
2. Search latency: the 31,525 corpus articles replicated ``--replicas`` times with distinct ids
   (>= 100,000 articles) loaded through the sink, then typical analyst queries (with facets and
   highlights, as the UI asks) run ``--rounds`` times each. Target: p95 < 100 ms.

Run: ``.venv/bin/python bench/bench_indexer.py`` (add ``--keep`` to keep the big index).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexers.documents import to_document
from indexers.query import Filters
from indexers.search import SearchRequest, search
from indexers.sink import IndexSink
from indexers.templates import ensure_index_setup, monthly_index, write_generation
from rasad.article import EnrichedArticle
from rasad.engine import Engine
from rasad.settings import Settings
from tests.index_fixtures import drop_prefix, raw_corpus, to_enriched

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
    async def refuse(article: EnrichedArticle, reason: str) -> None:
        raise RuntimeError(f"{article.id}: {reason}")

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
                    "_index": monthly_index(gen, a.published_at),
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
    started = time.perf_counter()
    for chunk in chunks:
        result = await engine.bulk(chunk)
        assert not result["errors"]
    return len(articles) / (time.perf_counter() - started)


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
        for _ in range(2):
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
        ratio = max(sink_rates) / max(plain_rates)
        print(
            f"throughput: sink {max(sink_rates):.0f}/s, plain bulk {max(plain_rates):.0f}/s, "
            f"ratio {ratio:.2f} (target >= 0.8)"
        )

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
                f"search latency over {len(latencies)} queries on {total:,} articles: "
                f"p50 {statistics.median(latencies):.1f} ms, "
                f"p95 {percentile(latencies, 0.95):.1f} ms (target p95 < 100 ms)"
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
    parser.add_argument("--rounds", type=int, default=20, help="runs of each query")
    parser.add_argument("--keep", action="store_true", help="keep the big index afterwards")
    asyncio.run(main(parser.parse_args()))
