"""Producer benchmarks (prints figures; not a test).

1. Corpus replay: articles/s for normalize only, and for parse+normalize+dedup+publish to the
   real broker (acks=all), with CPU seconds per 1,000 articles (the whole process: our thread
   and kafka-python's sender thread). Target: >= 2,000 articles/s on one core.
2. Polling: CPU seconds of this process per 1,000 polls of locally served feeds, answering
   304 (conditional GET) vs 200 (full body, parsed and deduplicated). The HTTP server runs in
   another process so its CPU is not counted. Target: 1,000 feeds/min mostly answering 304 at
   < 10 % of one core, i.e. < 6 CPU-s per 1,000 polls.

Run: .venv/bin/python bench/bench_producers.py [--articles N] [--polls N]   (needs the stack up)
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import multiprocessing
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import orjson
from aiohttp import web
from kafka.admin import KafkaAdminClient, NewTopic
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from producers.publish import Publisher  # noqa: E402
from producers.registry import FeedSpec, load_registry  # noqa: E402
from producers.replay import corpus_article, source_for  # noqa: E402
from producers.runner import REPLAY_BATCH, open_poller  # noqa: E402
from producers.spool import Spool  # noqa: E402
from producers.state import StateStore  # noqa: E402
from rasad.core.kafka import client_config  # noqa: E402
from rasad.core.settings import Settings  # noqa: E402
from tests.shared_data import DATA  # noqa: E402

CORPUS = DATA / "corpus" / "ant-multisource.jsonl.gz"
FEED = (DATA / "feeds" / "nabdsharqi" / "feed.xml").read_bytes()
ETAG = '"' + hashlib.sha256(FEED).hexdigest()[:16] + '"'


def cpu() -> float:
    """CPU seconds of this process, all threads (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bench_corpus(settings: Settings, n: int) -> list[tuple[str, str, str, str]]:
    registry = {f.id: f for f in load_registry()}
    with gzip.open(CORPUS, "rb") as handle:
        records = [orjson.loads(line) for line in islice(handle, n)]
    now = datetime.now(UTC)
    sources = {r["source"]: source_for(r["source"], registry) for r in records}

    t0, c0 = time.perf_counter(), cpu()
    articles = [corpus_article(r, sources[r["source"]], "replay:bench", now) for r in records]
    t_norm, c_norm = time.perf_counter() - t0, cpu() - c0

    with tempfile.TemporaryDirectory() as tmp:
        state, spool = StateStore(Path(tmp) / "s.sqlite"), Spool(Path(tmp) / "p.sqlite")
        publisher = Publisher(settings, state, spool)
        publisher.submit(articles[:10])  # connect + metadata outside the measurement
        t0, c0 = time.perf_counter(), cpu()
        published = 0
        for start in range(10, len(articles), REPLAY_BATCH):
            published += publisher.submit(articles[start : start + REPLAY_BATCH]).published
        t_pub, c_pub = time.perf_counter() - t0, cpu() - c0
        publisher.close()
        state.close()
        spool.close()

    t0, c0 = time.perf_counter(), cpu()
    for r in records:
        corpus_article(r, sources[r["source"]], "replay:bench", now).to_json()
    t_json, c_json = time.perf_counter() - t0, cpu() - c0
    m = len(articles) - 10
    return [
        (
            "normalize (JSON record -> Article)",
            f"{n / t_norm:,.0f}",
            f"{1000 * c_norm / n:.2f}",
            "",
        ),
        ("normalize + serialize (orjson)", f"{n / t_json:,.0f}", f"{1000 * c_json / n:.2f}", ""),
        (
            "normalize + dedup + publish (acks=all, lz4)",
            f"{m / (t_norm * m / n + t_pub):,.0f}",
            f"{1000 * (c_norm * m / n + c_pub) / m:.2f}",
            f"{published:,} published, {m - published:,} duplicates",
        ),
        ("  of which dedup + publish alone", f"{m / t_pub:,.0f}", f"{1000 * c_pub / m:.2f}", ""),
    ]


def serve(port_queue: multiprocessing.Queue[int]) -> None:
    async def feed(request: web.Request) -> web.StreamResponse:
        if request.path == "/conditional" and request.headers.get("If-None-Match") == ETAG:
            return web.Response(status=304, headers={"ETag": ETAG})
        return web.Response(
            body=FEED, headers={"ETag": ETAG, "Content-Type": "application/rss+xml"}
        )

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{path:.*}", feed)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_queue.put(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(main())


async def bench_polls(settings: Settings, port: int, n: int) -> list[tuple[str, str, str, str]]:
    rows = []
    for path, label in (
        ("/conditional", "304 Not Modified"),
        ("/always200", "200 (parsed, all dup)"),
    ):
        feeds = [
            FeedSpec(
                id=f"f{i}",
                name="bench",
                url=f"http://127.0.0.1:{port}{path}?feed={i}",
                country="SY",
                kind="private",
                interval=60,
                enabled=True,
            )
            for i in range(n)
        ]
        async with open_poller(settings, feeds) as poller:
            await poller.run_once()  # warm-up: first 200s, validators stored, items published
            t0, c0 = time.perf_counter(), cpu()
            outcomes = await poller.run_once()
            wall, used = time.perf_counter() - t0, cpu() - c0
        states = {o.state for o in outcomes}
        rows.append(
            (
                f"{n:,} polls answering {label}",
                f"{n / wall:,.0f} polls/s",
                f"{1000 * used / n:.2f}",
                f"states {sorted(states)}; "
                f"1,000 feeds/min = {100 * used / n * 1000 / 60:.1f} % of a core",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=31_525)
    parser.add_argument("--polls", type=int, default=1_000)
    args = parser.parse_args()
    topic = f"bench.producers.{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp), topic_raw=topic, producer_host_gap_s=0.0, producer_concurrency=32
        )
        admin = KafkaAdminClient(**client_config(settings))
        admin.create_topics(
            [NewTopic(topic, num_partitions=settings.topic_partitions, replication_factor=1)]
        )
        try:
            corpus_rows = bench_corpus(settings, args.articles)
            queue: multiprocessing.Queue[int] = multiprocessing.Queue()
            server = multiprocessing.Process(target=serve, args=(queue,), daemon=True)
            server.start()
            try:
                poll_rows = asyncio.run(bench_polls(settings, queue.get(timeout=30), args.polls))
            finally:
                server.terminate()
        finally:
            admin.delete_topics([topic])
            admin.close()
    console = Console(width=150)
    table = Table(
        title=f"Producer benchmark ({args.articles:,} corpus articles, {args.polls:,} polls)"
    )
    for column in ("what", "rate", "CPU ms per article / poll", "notes"):
        table.add_column(column)
    for row in corpus_rows + poll_rows:
        table.add_row(*row)
    console.print(table)


if __name__ == "__main__":
    main()
