"""Reprocess benchmark: the rate at which `rasad reprocess` re-enriches stored articles while
live articles keep arriving, and the live articles' freshness meanwhile.

    .venv/bin/python bench/bench_reprocess.py [--stored 30000] [--live-rate 20]

Real processes against the local stack (RASAD_* settings; the shared stack by default), with
topics, consumer group and index prefix of their own, deleted afterwards:

1. Load: one `rasad worker`; `rasad produce --replay --rate 0` stores the first N corpus
   articles (not measured beyond its own rate).
2. Reprocess under live load: the producer replays the next corpus articles at the live rate
   while `rasad reprocess` re-enriches all N through the same worker. Reprocess rate = N / the
   CLI's wall time (selection, sending, re-enrichment, indexing and the report). Live
   freshness = the moment a search first returns a live article (polled every 100 ms, late by
   50 ms on average) minus its raw message's Kafka timestamp, for the live articles published
   while the reprocess ran. Target: p95 <= 2 s.

The corpus holds 31,525 articles, so with N = 30,000 the live replay has ~1,500 articles
(75 s at 20/s); a reprocess that outlasts them is measured against the live articles it met.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from bench_pipeline import FRESH_POLL_S, QUIET, STALL_S, kafka_timestamps, percentile, wait_ready

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rasad.core.engine.client import Engine, open_engine
from rasad.core.settings import get_settings
from tests.fault_fixtures import Pipeline, corpus_slice

# Live replay alone before the reprocess starts: its freshness is the control figure (what
# this box gives live articles anyway), 20 s is ~400 articles at 20/s.
LIVE_ALONE_S = 20.0
# Live articles polled per search: ids of the live slice not yet seen (a terms lookup).
POLL_IDS = 2000


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
    cli = line.rasad("reprocess", "reprocess", "--json")
    await asyncio.to_thread(cli.wait)
    seconds, window_end = time.monotonic() - started, time.time()
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
        live = list(corpus_slice(live_corpus, args.stored, args.live_articles))
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
            sent = kafka_timestamps(line.settings)
            latency = {k: seen[k] - sent[k] for k in seen if k in sent}
            during = sorted(v for k, v in latency.items() if start <= sent[k] <= end)
            alone = sorted(v for k, v in latency.items() if sent[k] < start)
            report(args, len(expected), seconds, code, during, line)
            p50, p95 = percentile(alone, 0.5), percentile(alone, 0.95)
            print(f"  control, live alone before it: {len(alone)} articles,", end=" ")
            print(f"p50 {p50:.2f} s, p95 {p95:.2f} s")
        finally:
            line.close()


def report(
    args: argparse.Namespace,
    stored: int,
    seconds: float,
    code: int,
    during: list[float],
    line: Pipeline,
) -> None:
    print(f"reprocess of {stored} stored articles, live replay at {args.live_rate:.0f}/s")
    print(f"  rasad reprocess exit {code}, {seconds:.1f} s: {stored / seconds:.0f} articles/s")
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
        "--stored", type=int, default=30_000, help="articles to store, then reprocess"
    )
    parser.add_argument("--live-rate", type=float, default=20.0, help="live articles per second")
    parser.add_argument(
        "--live-articles", type=int, default=1500, help="live articles available to replay"
    )
    asyncio.run(main(parser.parse_args()))
