"""Web API latency on >= 100,000 articles: search p50/p95 under 20 concurrent clients, and the
dashboard statistics endpoints. Prints figures; never asserts (speed is measured, not tested).

    .venv/bin/python bench/bench_web.py [--copies 4] [--requests 2000] [--keep]

The corpus (31,525 real articles) is enriched once by the real enrichment chain (cached under
data_dir/bench/) and bulk-loaded ``--copies`` times under fresh ids into a throwaway index
prefix, so the engine holds copies x 31,525 articles. `rasad serve` runs as its own process
(uvicorn, one worker, as deployed); the load generator is another. The searches are a wide mix
(`query_mix`: entity names and topic terms of the corpus in analyst shapes, filters, time sorts,
page 2 by cursor), each sent once, so the engine's caches cannot answer for the search. The
same kind of searches sent straight to the search layer from this process give the baseline:
API latency / engine latency is the cost of the HTTP layer. API and direct rounds alternate, so
both see the same background load; the load average and the CPU time per search of the server,
the load generator and the engine's search, HTTP and JVM threads are printed with the figures.

    .venv/bin/python bench/bench_web.py --keep               # load once, keep the index
    .venv/bin/python bench/bench_web.py --reuse bench-web-…  # measure again, no loading
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import os
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
from measure import cpu_seconds, engine_pid, engine_threads, loadavg, thread_cpu
from search_mix import query_mix, search_request

from indexers.index.documents import article_index, to_document
from indexers.index.templates import ensure_index_setup, template_name, write_generation
from indexers.search import searcher as search_layer
from producers.registry import load_registry
from producers.replay import corpus_article, source_for
from rasad.core.article import EnrichedArticle
from rasad.core.engine.client import Engine, EngineError
from rasad.core.settings import Settings
from stream.enrich.cluster import StoryClusters
from stream.enrich.pipeline import enrich

REPO = Path(__file__).resolve().parents[1]
# The shared data beside the checkout (tests/shared_data.py; this bench imports no test code).
CORPUS = REPO.parent / "shared" / "data" / "corpus" / "ant-multisource.jsonl.gz"
STATS = [
    "/api/stats/volume?by=topic",
    "/api/stats/volume?by=source",
    "/api/stats/top-entities",
    "/api/stats/rising?since=7d",
    "/api/stats/sources",
]
CLIENTS = 20
# Alternating API / direct rounds: background load drifts over minutes, not within a round.
ROUNDS = 4
# Searches sent before measuring (half through the API, half direct): connections, JIT, caches.
WARM_UP = 100
# Bulk requests of ~1,000 documents (~3-5 MB): the engines' advised request size.
BULK_DOCS = 1000


def _enrich_chunk(lines: list[bytes]) -> list[bytes]:
    registry = {f.id: f for f in load_registry()}
    clusters = StoryClusters({})
    out = []
    for line in lines:
        record = orjson.loads(line)
        source = source_for(str(record.get("source") or "unknown"), registry)
        article = corpus_article(record, source, f"replay:{CORPUS.name}", datetime.now(UTC))
        out.append(enrich(article, clusters, article.published_at).to_json())
    return out


def enriched_corpus(settings: Settings) -> list[EnrichedArticle]:
    """Every corpus article enriched (cached: enrichment takes minutes, loading seconds)."""
    cache = settings.data_dir / "bench" / "web-enriched-corpus.jsonl.gz"
    if not cache.exists():
        with gzip.open(CORPUS, "rb") as handle:
            lines = handle.read().splitlines()
        chunks = [lines[i : i + 2000] for i in range(0, len(lines), 2000)]
        print(f"enriching {len(lines)} corpus articles once (cached at {cache}) …", flush=True)
        with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
            done = [doc for chunk in pool.map(_enrich_chunk, chunks) for doc in chunk]
        cache.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(cache, "wb") as out:
            out.write(b"\n".join(done))
    with gzip.open(cache, "rb") as handle:
        return [EnrichedArticle.from_json(line) for line in handle.read().splitlines()]


async def load(settings: Settings, articles: list[EnrichedArticle], copies: int) -> int:
    async with await Engine.connect(settings) as engine:
        await ensure_index_setup(engine, settings)
        generation = await write_generation(engine, settings)
        assert generation is not None
        now = datetime.now(UTC)
        lines: list[dict[str, Any]] = []
        sent = 0
        for copy in range(copies):
            for article in articles:
                doc = to_document(article, now)
                if copy:
                    doc["id"] = hashlib.sha256(f"{copy}:{article.id}".encode()).hexdigest()[:32]
                index = article_index(generation, article.published_at)
                lines += [{"index": {"_index": index, "_id": doc["id"]}}, doc]
                if len(lines) >= 2 * BULK_DOCS:
                    sent += await _bulk(engine, lines)
                    lines = []
        sent += await _bulk(engine, lines)
        await engine.refresh(settings.articles_read_alias)
        return await engine.count(settings.articles_read_alias)


async def _bulk(engine: Engine, lines: list[dict[str, Any]]) -> int:
    if not lines:
        return 0
    answer = await engine.bulk(lines)
    if answer.get("errors"):
        failed = [i for i in answer["items"] if "error" in next(iter(i.values()))]
        raise RuntimeError(f"{len(failed)} documents refused, e.g. {failed[:1]}")
    return len(lines) // 2


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    # The mean and max too: a client pool that is unfair to some callers hides its cost past
    # p95, where only the mean (Little's law: clients / throughput) still shows it.
    return (
        f"p50 {cuts[49] * 1000:6.1f} ms  p95 {cuts[94] * 1000:6.1f} ms  "
        f"p99 {cuts[98] * 1000:6.1f} ms  "
        f"mean {statistics.fmean(samples) * 1000:6.1f} ms  max {max(samples) * 1000:6.0f} ms  "
        f"n={len(samples)}"
    )


async def hammer(call: Any, jobs: list[Any], clients: int) -> tuple[list[float], float]:
    """Run `call(job)` for every job with `clients` concurrent workers; `call` returns the
    latencies of the requests it made (a page-2 job makes two). Failures are counted and
    printed, never hidden."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    latencies: list[float] = []
    failures: list[str] = []

    async def worker() -> None:
        while not queue.empty():
            job = queue.get_nowait()
            try:
                latencies.extend(await call(job))
            except (aiohttp.ClientError, EngineError) as exc:
                failures.append(f"{type(exc).__name__}: {exc}"[:120])

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    if failures:
        print(f"  {len(failures)} of {len(jobs)} jobs failed, e.g. {failures[0]}")
    return latencies, time.perf_counter() - started


async def measure_stats(http: aiohttp.ClientSession) -> None:
    """The dashboard statistics endpoints, one client alone, then all of them under load."""

    async def api_get(path: str) -> list[float]:
        started = time.perf_counter()
        async with http.get(path) as answer:
            await answer.read()
        return [time.perf_counter() - started]

    for path in STATS:
        alone, _ = await hammer(api_get, [path] * 30, 1)
        print(f"stats {path:32s} alone: {percentiles(alone)}")
    loaded, _ = await hammer(api_get, STATS * 40, CLIENTS)
    print(f"stats endpoints, {CLIENTS} clients:  {percentiles(loaded)}")


def print_cpu(
    searches: int, server_cpu: float, client_cpu: float, engine_cpu: dict[str, float] | None
) -> None:
    # CPU time per search is what the 2 cores have to share, whatever else runs beside:
    # with 20 closed-loop clients, latency ~ 20 x (all CPU per search) / cores.
    per = 1000 / searches
    engine = "not local"
    if engine_cpu is not None:
        split = ", ".join(f"{name} {used * per:.1f}" for name, used in engine_cpu.items())
        engine = f"{sum(engine_cpu.values()) * per:.1f} ms ({split})"
    print(
        f"CPU per API search: server {server_cpu * per:.1f} ms, load generator "
        f"{client_cpu * per:.1f} ms, engine {engine}"
    )


async def measure(settings: Settings, url: str, requests: int, server_pid: int) -> None:
    # aiohttp, not httpx: the load generator shares the 2 cores with what it measures, and
    # aiohttp spends about half of httpx's CPU time per request.
    async with (
        aiohttp.ClientSession(
            base_url=url,
            connector=aiohttp.TCPConnector(limit=CLIENTS),
            timeout=aiohttp.ClientTimeout(total=30),
            raise_for_status=True,
        ) as http,
        await Engine.connect(settings) as engine,
    ):
        # Warm-up, API and direct rounds each get their own searches, so no round is answered
        # from the request cache another one filled.
        mix = await query_mix(engine, settings, 2 * requests + 2 * WARM_UP, seed=requests)
        warm, mix = mix[: 2 * WARM_UP], mix[2 * WARM_UP :]
        print(f"{len(mix)} distinct measured searches (+{len(warm)} warm-up)")

        async def api_search(params: dict[str, Any]) -> list[float]:
            query = {k: v for k, v in params.items() if k != "page"}
            started = time.perf_counter()
            async with http.get("/api/search", params=query) as answer:
                cursor = orjson.loads(await answer.read())["next_cursor"]
            took = [time.perf_counter() - started]
            if params.get("page") == 2 and cursor:
                started = time.perf_counter()
                async with http.get("/api/search", params={**query, "cursor": cursor}) as answer:
                    await answer.read()
                took.append(time.perf_counter() - started)
            return took

        async def direct(params: dict[str, Any]) -> list[float]:
            started = time.perf_counter()
            page = await search_layer.search(engine, settings, search_request(params))
            took = [time.perf_counter() - started]
            if params.get("page") == 2 and page.next_cursor:
                started = time.perf_counter()
                await search_layer.search(
                    engine, settings, search_request(params, page.next_cursor)
                )
                took.append(time.perf_counter() - started)
            return took

        await hammer(api_search, warm[::2], CLIENTS)  # warm caches, connections and JIT
        await hammer(direct, warm[1::2], CLIENTS)
        # API and direct rounds alternate, so both see the same background load on a shared box.
        api_jobs, direct_jobs = mix[::2], mix[1::2]
        print(f"load average at start: {loadavg()}")
        api: list[float] = []
        base: list[float] = []
        api_wall = server_cpu = client_cpu = 0.0
        engine_cpu: dict[str, float] = {}
        engine_proc = engine_pid(settings)
        groups = engine_threads(engine_proc) if engine_proc else {}
        for i in range(ROUNDS):
            cpu_before = cpu_seconds(server_pid)
            engine_before = thread_cpu(engine_proc, groups) if engine_proc else {}
            client_before = time.process_time()
            latencies, wall = await hammer(api_search, api_jobs[i::ROUNDS], CLIENTS)
            server_cpu += cpu_seconds(server_pid) - cpu_before
            if engine_proc:
                for name, used in thread_cpu(engine_proc, groups).items():
                    engine_cpu[name] = engine_cpu.get(name, 0.0) + used - engine_before[name]
            client_cpu += time.process_time() - client_before
            api += latencies
            api_wall += wall
            base += (await hammer(direct, direct_jobs[i::ROUNDS], CLIENTS))[0]
        print(f"load average at end:   {loadavg()}")
        rate = len(api) / api_wall
        print(f"API search, {CLIENTS} clients:          {percentiles(api)}  {rate:4.0f} req/s")
        print(f"search layer direct, {CLIENTS} clients: {percentiles(base)}  (baseline)")
        ratio = statistics.quantiles(api, n=100)[94] / statistics.quantiles(base, n=100)[94]
        print(f"p95 API / p95 direct: {ratio:.2f}")
        print_cpu(len(api), server_cpu, client_cpu, engine_cpu if engine_proc else None)
        await measure_stats(http)


def serve(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RASAD_INDEX_PREFIX": settings.index_prefix,
        "RASAD_WEB_PORT": str(settings.web_port),
        "RASAD_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen([sys.executable, "-m", "rasad.cli", "serve"], env=env)
    for _ in range(200):  # startup takes about a second
        try:
            if httpx.get(f"http://127.0.0.1:{settings.web_port}/api/whoami").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("rasad serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--copies",
        type=int,
        default=4,
        help="corpus copies (4 = 120,716: duplicate URLs share an id)",
    )
    parser.add_argument("--requests", type=int, default=2000, help="search requests measured")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--keep", action="store_true", help="keep the bench index afterwards")
    parser.add_argument(
        "--reuse", metavar="PREFIX", help="measure an index prefix kept by --keep (no loading)"
    )
    args = parser.parse_args()
    prefix = args.reuse or f"bench-web-{uuid.uuid4().hex[:6]}"
    settings = Settings(index_prefix=prefix, web_port=args.port)
    # Other processes on the machine skew every figure: say how busy it was.
    print(f"load average before: {loadavg()}")
    if args.reuse:
        count = asyncio.run(_count(settings))
        print(f"reusing {count} articles ({settings.index_prefix})")
    else:
        articles = enriched_corpus(settings)
        started = time.perf_counter()
        count = asyncio.run(load(settings, articles, args.copies))
        print(
            f"indexed {count} articles in {time.perf_counter() - started:.0f} s "
            f"({settings.index_prefix})"
        )
    server = serve(settings)
    try:
        asyncio.run(measure(settings, f"http://127.0.0.1:{args.port}", args.requests, server.pid))
    finally:
        server.terminate()
        server.wait()
        if not (args.keep or args.reuse):
            asyncio.run(_drop(settings))


async def _count(settings: Settings) -> int:
    async with await Engine.connect(settings) as engine:
        return await engine.count(settings.articles_read_alias)


async def _drop(settings: Settings) -> None:
    async with await Engine.connect(settings) as engine:
        await engine.delete_index(f"{settings.index_prefix}-*")
        await engine.request("DELETE", f"/_index_template/{template_name(settings)}")


if __name__ == "__main__":
    main()
