"""Wiring of the producer stage for the CLI: open state, spool, publisher, fetcher; run."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ParamSpec, TypeVar

from producers import metrics
from producers.fetch import Fetcher, FetchLimits
from producers.fulltext import FullText
from producers.poller import Poller, PollOutcome
from producers.publish import Publisher, SubmitReport
from producers.registry import FeedSpec
from producers.replay import Refusals, ReplayError, replay_batches
from producers.spool import Spool
from producers.state import FeedHealth, StateStore, read_feed_health
from rasad.core.article import Article
from rasad.core.logs import get_logger
from rasad.core.settings import Settings

log = get_logger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

# Articles per publish call in a replay: big enough to amortise the ack round trip, small
# enough that the rate limiter stays smooth and progress moves.
REPLAY_BATCH = 2_000
# Replayed "at present", an article moves by whole weeks into the week before the replay.
PRESENT_WINDOW = timedelta(days=7)


def state_path(settings: Settings) -> Path:
    return settings.data_dir / settings.producer_state_path


def spool_path(settings: Settings) -> Path:
    return settings.data_dir / settings.producer_spool_path


class SpoolNotDrainedError(RuntimeError):
    """The producer is exiting with articles the broker never acknowledged: they are safe in
    the spool file, and the next start publishes them before anything else."""

    def __init__(self, remaining: int, path: Path, timeout_s: float) -> None:
        self.remaining, self.path = remaining, path
        super().__init__(
            f"{remaining} articles remain spooled in {path}: the broker did not take them "
            f"within {timeout_s:.0f} s (RASAD_PRODUCER_DRAIN_TIMEOUT_S). The next "
            "`rasad produce` publishes them first."
        )


def stop_on_signals() -> None:
    """SIGTERM and Ctrl-C cancel the running task, so its cleanup (the drain) runs; the
    default SIGTERM would end the process on the spot."""
    task = asyncio.current_task()
    assert task is not None, "called from a task"
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, task.cancel)
        except (RuntimeError, ValueError):  # not the main thread: the caller handles signals
            return


@dataclass
class ReplayTotals:
    articles: int = 0
    new: int = 0
    updated: int = 0
    duplicate: int = 0
    spooled: int = 0
    seconds: float = 0.0
    stopped: bool = False  # by SIGTERM or Ctrl-C before the end of the input
    # Records refused (wrongly typed fields, not JSON): counted, the first few named.
    refused: Refusals = field(default_factory=Refusals)
    # Where the input became unreadable (a truncated or corrupt file), after what was readable
    # before it was published.
    unreadable: str | None = None
    # Articles still in the spool at the end: the broker stayed away past the drain timeout.
    spool_left: int = 0
    # Articles the broker refused for good (sent to the dead-letter topic), by reason.
    dead_lettered: Counter[str] = field(default_factory=Counter)


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


async def _drained(settings: Settings, poller: Poller) -> None:
    timeout = settings.producer_drain_timeout_s
    if left := await poller.drain(timeout):
        raise SpoolNotDrainedError(left, spool_path(settings), timeout)


@dataclass
class PollRound:
    """What one ``--once`` round did: every feed's outcome, and the articles the broker refused
    for good (in the dead-letter topic), by reason."""

    outcomes: list[PollOutcome]
    dead_lettered: Counter[str]


async def run_once(settings: Settings, feeds: Sequence[FeedSpec]) -> PollRound:
    async with open_poller(settings, feeds) as poller:
        outcomes = await poller.run_once()
        await _drained(settings, poller)
        return PollRound(outcomes, poller.publisher.dead_lettered)


async def run_forever(settings: Settings, feeds: Sequence[FeedSpec]) -> None:
    """Poll until SIGTERM or Ctrl-C, then drain the spool (see :class:`SpoolNotDrainedError`)."""
    metrics.serve(settings.producer_metrics_port)
    stop_on_signals()
    async with open_poller(settings, feeds) as poller:
        try:
            await poller.run_forever()
        except asyncio.CancelledError:
            log.info("stopping: publishing what is spooled first")
        await _through_signals(asyncio.ensure_future(_drained(settings, poller)))


def feed_health(settings: Settings) -> dict[str, FeedHealth]:
    """Persisted health of every feed polled so far (read by `rasad feeds status`)."""
    return read_feed_health(state_path(settings))


async def run_replay(
    settings: Settings,
    path: Path,
    registry: Sequence[FeedSpec],
    rate: float,
    on_batch: Callable[[ReplayTotals], None] | None = None,
    present: bool = False,
) -> ReplayTotals:
    """Publish a recorded corpus/feed through normalization, dedup and the publisher; what was
    spooled before is published first, and nothing is left spooled at the end (or on SIGTERM
    or Ctrl-C) unless the broker stays away for ``producer_drain_timeout_s`` (then the totals
    say how many are left: ``spool_left``). An input damaged part way is published up to the
    damage, which the totals name (``unreadable``). ``present`` moves every article's
    publication time onto the moment it is replayed (:func:`at_present`)."""
    stop_on_signals()
    state = StateStore(state_path(settings))
    spool = Spool(spool_path(settings))
    publisher = Publisher(settings, state, spool)
    # One thread for every publisher call, so a drain waits for a send in flight to finish
    # instead of racing it (the producer and SQLite connections are not shared across calls).
    sink = ThreadPoolExecutor(1, thread_name_prefix="replay-sink")
    loop = asyncio.get_running_loop()

    async def in_sink(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await loop.run_in_executor(sink, lambda: fn(*args, **kwargs))

    totals = ReplayTotals()
    try:
        batches = replay_batches(
            path, {f.id: f for f in registry}, replay_batch_size(rate), totals.refused
        )
        if present:
            batches = (at_present(batch, datetime.now(UTC)) for batch in batches)
        problem = await in_sink(publisher.check)
        if problem:  # a demo replay into a spool helps nobody: say why and stop
            raise ReplayError(f"cannot publish to Kafka: {problem}")
        try:
            await in_sink(publisher.flush_spool)  # what an earlier run left, first
            await _replay_loop(batches, in_sink, publisher, rate, totals, on_batch)
        except asyncio.CancelledError:
            totals.stopped = True
            log.info("replay stopped: publishing what is spooled first")
        drain = loop.run_in_executor(sink, publisher.drain, settings.producer_drain_timeout_s)
        totals.spool_left = await _through_signals(drain)
        totals.dead_lettered = publisher.dead_lettered
    finally:
        await _through_signals(loop.run_in_executor(sink, publisher.close))
        sink.shutdown(wait=True)
        state.close()
        spool.close()
    return totals


async def _through_signals(work: asyncio.Future[T]) -> T:
    """Wait for the final drain (or close) even when SIGTERM or Ctrl-C comes while it runs: it
    is bounded by its own timeout, and cancelling the wait would end the process in a
    traceback with the spool's count unsaid instead of the exit that names it."""
    while True:
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            if work.cancelled():
                raise
            log.info("stop asked while draining: the drain ends within its timeout")


def at_present(articles: list[Article], now: datetime) -> list[Article]:
    """The batch moved onto the recent past: each article by whole weeks to the latest moment
    not after ``now``, so it keeps its weekday and time of day and lands within the last
    PRESENT_WINDOW. A replayed archive fills the last week as a newsroom's would (the default
    views, the charts' daily rhythm, the rising lists), instead of bunching into the minutes of
    the replay; the live feed shows arrivals as they come. The id (from the URL) and the
    content do not change; the recorded date stays in the corpus."""
    return [
        a.model_copy(
            update={
                "published_at": a.published_at
                + (now - a.published_at) // PRESENT_WINDOW * PRESENT_WINDOW,
                "date_flag": "ok",
            }
        )
        for a in articles
    ]


def replay_batch_size(rate: float) -> int:
    """Articles per replay batch: one send round, and one state write once it is acked."""
    return REPLAY_BATCH if rate == 0 else max(1, min(REPLAY_BATCH, int(rate)))


async def _replay_loop(
    batches: Iterator[list[Article]],
    in_sink: Callable[..., Awaitable[object]],
    publisher: Publisher,
    rate: float,
    totals: ReplayTotals,
    on_batch: Callable[[ReplayTotals], None] | None,
) -> None:
    started = time.monotonic()
    while True:
        try:
            articles = await asyncio.to_thread(next, batches, None)
        except ReplayError as exc:  # damaged part way: what came before is published
            totals.unreadable = str(exc)
            return
        if articles is None:
            return
        report = await in_sink(publisher.submit, articles)
        assert isinstance(report, SubmitReport)
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
