"""Reprocess benchmark: the rate at which `rasad reprocess` re-enriches stored articles while
live articles keep arriving, and the live articles' freshness meanwhile.

    .venv/bin/python bench/bench_reprocess.py [--stored 5000] [--live-rate 20] [--live-articles N]
    .venv/bin/python bench/bench_reprocess.py --stored 30000 --live-articles 40000  # issue 20

Real processes against the local stack (RASAD_* settings; the shared stack by default), with
topics, consumer group and index prefix of their own, deleted afterwards:

1. Load: one `rasad worker`; `rasad produce --replay --rate 0` stores the first N corpus
   articles (not measured beyond its own rate).
2. Reprocess under live load: the producer replays the next corpus articles at the live rate
   while `rasad reprocess` re-enriches every indexed article (the N stored and the live ones
   indexed by then) through the same worker. Reprocess rate = those articles / the CLI's wall
   time (selection, sending, re-enrichment, indexing and the report). Live freshness = the
   moment a search first returns a live article (polled every 100 ms, late by 50 ms on average)
   minus its raw message's Kafka timestamp, for the live articles published while the reprocess
   ran. Target: p95 <= 2 s.

The live replay is the corpus lines after the stored ones, then the corpus again from its start
under new URLs (a story republished at another address: a new article, the same text), as many
as ``--live-articles``: the corpus holds 31,525 articles, so with 30,000 stored the repeat keeps
live traffic going through the reprocess (40,000 live articles: ~33 min at 20/s). A reprocess
that outlasts the live replay is measured against the live articles it met. The reprocess gives
way while the worker is over 100 live articles behind: on a worker slower than the live rate it
waits for the live backlog, and its rate is what live traffic leaves.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import itertools
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
from bench_pipeline import FRESH_POLL_S, QUIET, STALL_S, kafka_timestamps, percentile, wait_ready

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexers.index.reprocess_store import last_run
from producers.replay import corpus_article, source_for
from rasad.core.engine.client import Engine, open_engine
from rasad.core.settings import get_settings
from tests.fault_fixtures import CORPUS, Pipeline, corpus_slice

# Live replay alone before the reprocess starts: its freshness is the control figure (what
# this box gives live articles anyway), 20 s is ~400 articles at 20/s.
LIVE_ALONE_S = 20.0
# Live articles polled per search: ids of the live slice not yet seen (a terms lookup).
POLL_IDS = 2000


def _corpus_rounds() -> Iterator[tuple[int, bytes]]:
    """The corpus lines again and again, each with its round (0 the first time)."""
    for round_ in itertools.count():
        with gzip.open(CORPUS, "rb") as source:
            for line in source:
                yield round_, line


def load_text() -> str:
    """The box's load average (1, 5, 15 min): speed figures mean little without it."""
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def live_slice(path: Path, start: int, count: int) -> list[str]:
    """Write ``count`` live articles from corpus line ``start`` on to ``path``; lines met again
    after the corpus ends get a new URL (``?republished=<round>``). Returns their ids."""
    now, ids = datetime.now(UTC), []
    with path.open("wb") as out:
        for round_, line in itertools.islice(_corpus_rounds(), start, start + count):
            record = orjson.loads(line)
            if round_:
                record["url"] = f"{record['url']}?republished={round_}"
            source = source_for(str(record["source"]), {})
            ids.append(corpus_article(record, source, "-", now).id)
            out.write(orjson.dumps(record) + b"\n")
    return ids


async def load(engine: Engine, line: Pipeline, corpus: Path, expected: int) -> float:
    """Phase 1: store the articles; returns the seconds it took."""
    started = time.monotonic()
    line.replay(corpus, 0, name="load")
    count, last_growth = 0, time.monotonic()
    while count < expected and time.monotonic() - last_growth < STALL_S:
        await asyncio.sleep(1.0)
        now_count = await engine.count(line.settings.articles_read_alias)
        if now_count > count:
            count, last_growth = now_count, time.monotonic()
    if count < expected:
        raise SystemExit(f"only {count} of {expected} stored\n{line.logs()}")
    return time.monotonic() - started


async def poll_live(
    engine: Engine, line: Pipeline, live: list[str], seen: dict[str, float], until: asyncio.Event
) -> None:
    """Record when each live article is first searchable, until ``until`` is set."""
    alias = line.settings.articles_read_alias
    while not until.is_set():
        unseen = [i for i in live if i not in seen][:POLL_IDS]
        if unseen:
            body = {"size": len(unseen), "_source": False, "query": {"ids": {"values": unseen}}}
            hits = (await engine.search(alias, body))["hits"]["hits"]
            now = time.time()
            for hit in hits:
                seen.setdefault(hit["_id"], now)
        await asyncio.sleep(FRESH_POLL_S)


async def reprocess_under_load(
    engine: Engine, line: Pipeline, live_corpus: Path, live: list[str], rate: float
) -> tuple[float, int, dict[str, float], float, float]:
    """Phase 2: returns the reprocess seconds, its exit code, live first-seen times and the
    wall-clock window (start, end) of the reprocess."""
    seen: dict[str, float] = {}
    done = asyncio.Event()
    poller = asyncio.ensure_future(poll_live(engine, line, live, seen, done))
    line.replay(live_corpus, rate, name="live")
    await asyncio.sleep(LIVE_ALONE_S)  # live traffic alone first: the control figures
    window_start, started = time.time(), time.monotonic()
    print(f"reprocess starts, {load_text()}", flush=True)
    cli = line.rasad("reprocess", "reprocess", "--json")
    await asyncio.to_thread(cli.wait)
    seconds, window_end = time.monotonic() - started, time.time()
    print(f"reprocess ends, {load_text()}", flush=True)
    done.set()
    await poller
    return seconds, cli.returncode, seen, window_start, window_end


async def main(args: argparse.Namespace) -> None:
    base = get_settings()
    with tempfile.TemporaryDirectory(prefix="bench-reprocess-") as tmp:
        root = Path(tmp)
        stored = root / "stored.jsonl"
        live_corpus = root / "live.jsonl"
        expected = corpus_slice(stored, 0, args.stored)
        live = live_slice(live_corpus, args.stored, args.live_articles)
        line = Pipeline(base, root / "line", extra_env=QUIET)
        line.root.mkdir(parents=True)
        try:
            line.setup()
            line.worker()
            await wait_ready(line, 1)
            async with open_engine(base) as engine:
                loaded = await load(engine, line, stored, len(expected))
                print(f"stored {len(expected)} articles in {loaded:.0f} s", flush=True)
                seconds, code, seen, start, end = await reprocess_under_load(
                    engine, line, live_corpus, live, args.live_rate
                )
                # The run selects every indexed article: the stored ones and the live ones
                # indexed before it started.
                run = await last_run(engine, line.settings)
            articles = run.total if run is not None else 0
            sent = kafka_timestamps(line.settings)
            enriched = kafka_timestamps(line.settings, line.settings.topic_enriched)
            print(f"reprocess of {articles} articles ({len(expected)} stored, the rest live)")
            during = [k for k in seen if k in sent and start <= sent[k] <= end]
            alone = [k for k in seen if k in sent and sent[k] < start]
            report(args, articles, seconds, code, sorted(seen[k] - sent[k] for k in during), line)
            print(f"  control, live alone before it: {len(alone)} articles")
            for name, keys in (("alone", alone), ("during", during)):
                print(f"  live {name}: {stages(keys, sent, enriched, seen)}")
        finally:
            line.close()


def stages(
    keys: list[str], sent: dict[str, float], enriched: dict[str, float], seen: dict[str, float]
) -> str:
    """p50/p95 of each stage of a live article: raw publish -> enriched (the enriched topic's
    CreateTime) -> searchable, and end to end."""
    parts = []
    for label, start, end in (
        ("raw->enriched", sent, enriched),
        ("enriched->searchable", enriched, seen),
        ("end to end", sent, seen),
    ):
        values = sorted(end[k] - start[k] for k in keys if k in start and k in end)
        p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
        parts.append(f"{label} p50 {p50:.2f} s p95 {p95:.2f} s")
    return "; ".join(parts)


def report(
    args: argparse.Namespace,
    articles: int,
    seconds: float,
    code: int,
    during: list[float],
    line: Pipeline,
) -> None:
    print(f"  live replay at {args.live_rate:.0f}/s")
    rate = articles / seconds
    print(f"  rasad reprocess exit {code}, {seconds:.1f} s: {rate:.1f} articles/s")
    print(f"  live articles published during it and searchable: {len(during)}")
    p50, p95 = percentile(during, 0.5), percentile(during, 0.95)
    worst = max(during, default=float("nan"))
    print(
        f"  live freshness p50 {p50:.2f} s, p95 {p95:.2f} s, max {worst:.2f} s (target p95 <= 2 s)"
    )
    if code != 0:
        print(line.logs())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stored",
        type=int,
        default=5_000,
        help="articles to store and reprocess",
    )
    parser.add_argument("--live-rate", type=float, default=20.0, help="live articles per second")
    parser.add_argument(
        "--live-articles",
        type=int,
        default=8_000,
        help="live articles to replay (past the corpus end, republished under new URLs)",
    )
    asyncio.run(main(parser.parse_args()))
