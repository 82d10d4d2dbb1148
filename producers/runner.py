"""Wiring of the producer stage for the CLI: open state, spool, publisher, fetcher; run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from producers import metrics
from producers.fetch import Fetcher, FetchLimits
from producers.fulltext import FullText
from producers.poller import Poller, PollOutcome
from producers.publish import Publisher, SubmitReport
from producers.registry import FeedSpec
from producers.replay import ReplayError, replay_batches
from producers.spool import Spool
from producers.state import FeedHealth, StateStore
from rasad.core.settings import Settings

# Articles per publish call in a replay: big enough to amortise the ack round trip, small
# enough that the rate limiter stays smooth and progress moves.
REPLAY_BATCH = 2_000


def state_path(settings: Settings) -> Path:
    return settings.data_dir / settings.producer_state_path


def spool_path(settings: Settings) -> Path:
    return settings.data_dir / settings.producer_spool_path


@dataclass
class ReplayTotals:
    articles: int = 0
    new: int = 0
    updated: int = 0
    duplicate: int = 0
    spooled: int = 0
    seconds: float = 0.0


@asynccontextmanager
async def open_poller(settings: Settings, feeds: Sequence[FeedSpec]) -> AsyncIterator[Poller]:
    state = StateStore(state_path(settings))
    spool = Spool(spool_path(settings))
    publisher = Publisher(settings, state, spool)
    async with Fetcher(FetchLimits.from_settings(settings)) as fetcher:
        fulltext = (
            FullText(fetcher, settings.producer_fulltext_concurrency)
            if settings.producer_fulltext
            else None
        )
        poller = Poller(settings, feeds, fetcher, publisher, state, fulltext=fulltext)
        await poller.start()
        try:
            yield poller
        finally:
            await poller.close()
            state.close()
            spool.close()


async def run_once(settings: Settings, feeds: Sequence[FeedSpec]) -> list[PollOutcome]:
    async with open_poller(settings, feeds) as poller:
        return await poller.run_once()


async def run_forever(settings: Settings, feeds: Sequence[FeedSpec]) -> None:
    metrics.serve(settings.producer_metrics_port)
    async with open_poller(settings, feeds) as poller:
        await poller.run_forever()


def feed_health(settings: Settings) -> dict[str, FeedHealth]:
    """Persisted health of every feed polled so far (read by `rasad feeds status`)."""
    path = state_path(settings)
    if not path.exists():
        return {}
    store = StateStore(path)
    try:
        return store.load_feeds()
    finally:
        store.close()


async def run_replay(
    settings: Settings,
    path: Path,
    registry: Sequence[FeedSpec],
    rate: float,
    on_batch: Callable[[ReplayTotals], None] | None = None,
) -> ReplayTotals:
    """Publish a recorded corpus/feed through normalization, dedup and the publisher."""
    state = StateStore(state_path(settings))
    spool = Spool(spool_path(settings))
    publisher = Publisher(settings, state, spool)
    by_id = {f.id: f for f in registry}
    batch = REPLAY_BATCH if rate == 0 else max(1, min(REPLAY_BATCH, int(rate)))
    totals = ReplayTotals()
    started = time.monotonic()
    try:
        batches = replay_batches(path, by_id, batch)
        problem = await asyncio.to_thread(publisher.check)
        if problem:  # a demo replay into a spool helps nobody: say why and stop
            raise ReplayError(f"cannot publish to Kafka: {problem}")
        while (articles := await asyncio.to_thread(next, batches, None)) is not None:
            report: SubmitReport = await asyncio.to_thread(publisher.submit, articles)
            totals.articles += len(articles)
            totals.new += report.new
            totals.updated += report.updated
            totals.duplicate += report.duplicate
            totals.spooled += report.spooled
            totals.seconds = time.monotonic() - started
            if on_batch is not None:
                on_batch(totals)
            if rate > 0:  # hold the average at `rate` articles/s
                ahead = totals.articles / rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
    finally:
        await asyncio.to_thread(publisher.close)
        state.close()
        spool.close()
    return totals
