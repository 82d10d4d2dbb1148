"""An analyst's year: search and dashboards on a year-scale index, with ingest running.

    .venv/bin/python bench/bench_year.py --docs 2500000 --keep     # build, measure, keep
    .venv/bin/python bench/bench_year.py --reuse                   # measure the kept index again

A SCALE TEST, NOT A QUALITY TEST: the corpus (31,525 real articles, enriched once by the real
chain and cached, see bench_web.py) is replayed ``--docs / 31,525`` times. Copy k keeps every
article's text, entities and topics, gets a derived id and cluster id (sha256 of k and the
original) and a publication time moved by k x (365 / copies) whole days, wrapped into the year
that ends now: a year of news at the density of a big newsroom (~7,000 articles a day), so
"last 7 days" and month filters select what they would on a real year. Repeated texts make
the engine's work realistic (same vocabulary, same postings sizes per article) but nothing
about relevance or enrichment quality may be read from this index; its figures never go next
to quality figures.

Measured on the built index (`rasad serve` as its own process, as deployed), while a writer
indexes 20 new articles/s into it (bulk every 0.25 s, the indexer's batch time):
index size per 1,000 articles; one analyst (one search at a time) p50/p95 over the analyst
query mix (search_mix.py, each search distinct); 20 analysts open loop (Poisson arrivals, one
search per analyst every 2 s on average: latency counts from the planned send time) and closed
loop (20 clients back to back); the dashboard statistics endpoints as the app calls them (last
7 days); the ingest rate reached while searching. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import hashlib
import random
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
from bench_web import (
    CLIENTS,
    CORPUS,
    _drop,
    _enrich_chunk,
    enriched_corpus,
    hammer,
    percentiles,
    serve,
)
from measure import loadavg
from search_mix import query_mix
from year_build import Checkpoint, build, bulk, serving

from indexers.index.documents import article_index, to_document
from indexers.index.templates import write_generation
from rasad.core.article import EnrichedArticle
from rasad.core.engine.client import Engine
from rasad.core.settings import Settings

PREFIX = "bench_year"
# The ingest running beside the searches: a busy newsroom's peak, in the indexer's batches.
INGEST_RATE = 20.0
INGEST_BATCH_S = 0.25
# One search per analyst every 2 s on average (open loop).
ANALYST_GAP_S = 2.0
DASHBOARD = [
    "/api/stats/volume?by=topic&since=7d",
    "/api/stats/volume?by=source&since=7d",
    "/api/stats/top-entities?since=7d",
    "/api/stats/rising?since=24h",
    "/api/stats/sources?since=7d",
]


def sampled_corpus(settings: Settings, sample: int) -> list[EnrichedArticle]:
    """Every corpus article enriched (bench_web's cache), or ``sample`` of them spread over the
    file (their own cache): fewer distinct texts, enriched in a fraction of the time."""
    if not sample:
        return enriched_corpus(settings)
    cache = settings.data_dir / "bench" / f"year-enriched-sample-{sample}.jsonl.gz"
    if not cache.exists():
        with gzip.open(CORPUS, "rb") as handle:
            lines = handle.read().splitlines()
        picked = lines[:: max(1, len(lines) // sample)][:sample]
        print(f"enriching {len(picked)} corpus articles once (cached at {cache}) …", flush=True)
        cache.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(cache, "wb") as out:
            out.write(b"\n".join(_enrich_chunk(picked)))
    with gzip.open(cache, "rb") as handle:
        return [EnrichedArticle.from_json(line) for line in handle.read().splitlines()]


async def index_size(engine: Engine, settings: Settings) -> tuple[int, int]:
    """Documents and bytes on disk of the bench's article indices."""
    rows = await engine.request(
        "GET",
        f"/_cat/indices/{settings.index_prefix}-articles-*",
        params={"format": "json", "bytes": "b"},
    )
    size = sum(int(r["store.size"]) for r in rows)
    return await engine.count(settings.articles_read_alias), size


class Ingest:
    """Writes INGEST_RATE fresh articles/s (new ids, published now) while the searches run."""

    def __init__(self, engine: Engine, settings: Settings, articles: list[EnrichedArticle]):
        self.engine, self.settings, self.articles = engine, settings, articles
        self.sent = 0
        self.seconds = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        generation = await write_generation(self.engine, self.settings)
        assert generation is not None
        per_batch = round(INGEST_RATE * INGEST_BATCH_S)
        started = time.monotonic()
        while not stop.is_set():
            now = datetime.now(UTC)
            lines: list[bytes] = []
            for _ in range(per_batch):
                doc = to_document(self.articles[self.sent % len(self.articles)], now)
                doc["id"] = hashlib.sha256(
                    f"ingest:{now.isoformat()}:{self.sent}".encode()
                ).hexdigest()[:32]
                doc["published_at"] = now.isoformat()
                lines += [
                    orjson.dumps(
                        {"index": {"_index": article_index(generation, now), "_id": doc["id"]}}
                    ),
                    orjson.dumps(doc),
                ]
                self.sent += 1
            await bulk(self.engine, b"\n".join(lines) + b"\n")
            # Keep the planned rate: sleep only what the batch left of its slot.
            due = started + self.sent / INGEST_RATE - time.monotonic()
            if due > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), due)
        self.seconds = time.monotonic() - started


async def open_loop(
    http: aiohttp.ClientSession, jobs: list[dict[str, Any]], seconds: float
) -> list[float]:
    """CLIENTS analysts, each sending a search at Poisson arrivals (mean ANALYST_GAP_S); the
    latency of a search counts from its planned time, so a slow server cannot slow the load."""
    rng = random.Random(7)
    plan: list[float] = []
    for _ in range(CLIENTS):
        at = rng.expovariate(1 / ANALYST_GAP_S)
        while at < seconds:
            plan.append(at)
            at += rng.expovariate(1 / ANALYST_GAP_S)
    plan.sort()
    latencies: list[float] = []
    started = time.perf_counter()

    failures: list[str] = []

    async def one(at: float, params: dict[str, Any]) -> None:
        await asyncio.sleep(max(0.0, started + at - time.perf_counter()))
        try:
            async with http.get("/api/search", params=_query(params)) as answer:
                await answer.read()
        except (aiohttp.ClientError, TimeoutError) as exc:  # overloaded: counted, not hidden
            failures.append(f"{type(exc).__name__}: {exc}"[:120])
            return
        latencies.append(time.perf_counter() - started - at)

    await asyncio.gather(*(one(at, jobs[i % len(jobs)]) for i, at in enumerate(plan)))
    if failures:
        print(f"  {len(failures)} of {len(plan)} searches failed, e.g. {failures[0]}")
    return latencies


def _query(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != "page"}


def _months(end: datetime) -> list[tuple[int, int]]:
    """The twelve (year, month) pairs before ``end``'s month: the bench year's months."""
    months = []
    year, month = end.year, end.month
    for _ in range(12):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        months.append((year, month))
    return months


async def measure(
    settings: Settings, url: str, articles: list[EnrichedArticle], n: int, open_s: float
) -> None:
    async with (
        aiohttp.ClientSession(
            base_url=url,
            connector=aiohttp.TCPConnector(limit=4 * CLIENTS),
            timeout=aiohttp.ClientTimeout(total=60),
            raise_for_status=True,
        ) as http,
        await Engine.connect(settings) as engine,
    ):
        # The template's serving settings, also after an interrupted (resumable) build.
        await engine.put_settings(f"{settings.index_prefix}-articles-*", serving(settings))
        count, size = await index_size(engine, settings)
        per_thousand = size / count * 1000 / 1e6
        print(f"index: {count:,} articles, {size / 1e9:.2f} GB, {per_thousand:.2f} MB per 1,000")
        mix = await query_mix(engine, settings, 4 * n, seed=n, months=_months(datetime.now(UTC)))
        warm, one, closed, opened = mix[: n // 4], mix[n : 2 * n], mix[2 * n : 3 * n], mix[3 * n :]
        stop = asyncio.Event()
        ingest = Ingest(engine, settings, articles)
        writer = asyncio.create_task(ingest.run(stop))

        async def api_search(params: dict[str, Any]) -> list[float]:
            started = time.perf_counter()
            async with http.get("/api/search", params=_query(params)) as answer:
                await answer.read()
            return [time.perf_counter() - started]

        await hammer(api_search, warm, 4)
        print(f"load average at start: {loadavg()}")
        alone, _ = await hammer(api_search, one, 1)
        print(f"one analyst:                     {percentiles(alone)}")
        arrivals = await open_loop(http, opened, open_s)
        print(f"{CLIENTS} analysts open loop, {len(arrivals)} searches: {percentiles(arrivals)}")
        loaded, wall = await hammer(api_search, closed, CLIENTS)
        rate = len(loaded) / wall
        print(f"{CLIENTS} analysts closed loop:        {percentiles(loaded)}  {rate:.0f} req/s")

        async def api_get(path: str) -> list[float]:
            started = time.perf_counter()
            async with http.get(path) as answer:
                await answer.read()
            return [time.perf_counter() - started]

        board, _ = await hammer(api_get, DASHBOARD * 10, 1)
        print(f"dashboard statistics (7 days):   {percentiles(board)}")
        stop.set()
        await writer
        reached = ingest.sent / ingest.seconds
        print(f"ingest while searching: {reached:.1f} articles/s (target {INGEST_RATE:.0f})")
        print(f"load average at end: {loadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=2_500_000, help="documents in the year index")
    parser.add_argument(
        "--build-budget-s", type=float, default=6 * 3600, help="stop loading after this"
    )
    parser.add_argument("--searches", type=int, default=400, help="searches per measurement")
    parser.add_argument("--open-seconds", type=float, default=60.0, help="length of the open loop")
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument(
        "--sample", type=int, default=0, help="replay N corpus articles, not all 31,525"
    )
    parser.add_argument("--keep", action="store_true", help="keep the index afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure the kept index, no loading")
    parser.add_argument("--build-only", action="store_true", help="build and keep, no measuring")
    args = parser.parse_args()
    settings = Settings(index_prefix=PREFIX, web_port=args.port)
    print(f"load average before: {loadavg()}")
    articles = sampled_corpus(settings, args.sample)
    if not args.reuse:
        sample = args.sample
        checkpoint = Checkpoint.load(
            settings.data_dir / "bench" / "year-build.json", args.docs, sample
        )
        started = time.perf_counter()
        count = asyncio.run(build(settings, articles, checkpoint, args.build_budget_s))
        took = time.perf_counter() - started
        print(f"the index holds {count:,} articles under {PREFIX} ({took:.0f} s this run)")
        if args.build_only:
            return
    server = serve(settings)
    try:
        asyncio.run(
            measure(
                settings,
                f"http://127.0.0.1:{args.port}",
                articles,
                args.searches,
                args.open_seconds,
            )
        )
    finally:
        server.terminate()
        server.wait()
        if not (args.keep or args.reuse):
            asyncio.run(_drop(settings))
            (settings.data_dir / "bench" / "year-build.json").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
