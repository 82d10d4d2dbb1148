"""The asyncio scheduler: polls every feed on its own adaptive clock and publishes what is new.

Each feed keeps an interval between ``producer_poll_min_s`` and ``producer_poll_max_s``: a poll
that finds new items shortens it, an empty one (or a 304) lengthens it, and every wait gets
jitter so feeds never fall into lock-step. A failing feed backs off exponentially up to
``producer_backoff_max_s``, shows its state (failing, then dead after repeated DNS/404/410),
and never stops the others: every poll is isolated, nothing in it can crash the poller.
Blocking work (Kafka, SQLite) runs on one "sink" thread, parsing on worker threads.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ParamSpec, TypeVar

from producers import metrics
from producers.check import VERDICTS, Thresholds, error_verdict, result_verdict
from producers.fetch import (
    BlockedError,
    Fetcher,
    FetchError,
    FetchResult,
    HTTPStatusError,
    is_challenge,
)
from producers.fulltext import FullText
from producers.parse import NotAFeedError, ParsedFeed, parse_feed
from producers.publish import Publisher, SubmitReport
from producers.registry import FeedSpec
from producers.silence import silent_outlets
from producers.sitemap_source import read_news_sitemap
from producers.sitemaps import SitemapError
from producers.state import FeedHealth, StateStore, Validators
from rasad.core.logs import get_logger
from rasad.core.settings import Settings

log = get_logger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

# Interval multipliers: a poll with news shortens the next wait by a quarter, a quiet one
# lengthens it by a quarter, so a feed settles near its real publishing rhythm in a few polls.
FASTER, SLOWER = 0.75, 1.25
# +-10 % jitter: enough to spread feeds sharing a host, small enough to keep the schedule.
JITTER = 0.10
# Weight of the latest poll in the new-items-per-poll moving average shown in `feeds status`.
EWMA_WEIGHT = 0.3
# Long runs log a progress line this often.
PROGRESS_EVERY_S = 60.0


@dataclass
class PollOutcome:
    feed_id: str
    state: str
    new: int = 0
    updated: int = 0
    duplicate: int = 0
    not_modified: bool = False
    spooled: int = 0
    skipped: int = 0
    error: str | None = None


def jittered(seconds: float, rng: random.Random) -> float:
    return seconds * rng.uniform(1 - JITTER, 1 + JITTER)


class Poller:
    def __init__(
        self,
        settings: Settings,
        feeds: Sequence[FeedSpec],
        fetcher: Fetcher,
        publisher: Publisher,
        state: StateStore,
        *,
        fulltext: FullText | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.feeds = list(feeds)
        self.fetcher = fetcher
        self.publisher = publisher
        self.state = state
        self.fulltext = fulltext
        self._children: Validators = {}  # child sitemaps' ETags, for conditional GETs
        self._pages = fulltext or FullText(fetcher, settings.producer_fulltext_concurrency)
        self.thresholds = Thresholds(
            timedelta(days=settings.producer_stale_days), settings.producer_slow_s
        )
        self.rng = rng or random.Random()
        self._sink = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rasad-sink")
        self._slots = asyncio.Semaphore(settings.producer_concurrency)
        self.health: dict[str, FeedHealth] = {}
        self._retry_after: dict[str, float] = {}
        self.totals = {"polls": 0, "new": 0, "updated": 0, "errors": 0}

    async def _in_sink(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._sink, lambda: fn(*args, **kwargs))

    async def start(self) -> None:
        """Load persisted health (validators, intervals) and the child sitemaps' validators, so
        a restart resumes politely."""
        saved = await self._in_sink(self.state.load_feeds)
        self._children = await self._in_sink(self.state.load_children)
        if ".invalid/" in self.settings.producer_contact_url:
            log.warning(
                "no contact URL in the User-Agent",
                hint="set RASAD_PRODUCER_CONTACT_URL so outlets can reach whoever polls them",
            )
        for feed in self.feeds:
            health = saved.get(feed.id)
            if health is None or health.url != feed.url:
                health = FeedHealth(id=feed.id, url=feed.url, interval_s=self._clamp(feed.interval))
            if not feed.enabled:
                health.state = "disabled"
            elif health.state == "disabled":
                health.state = "new"  # re-enabled in the registry since the last run
            self.health[feed.id] = health
        self._count_states()

    async def drain(self, timeout_s: float) -> int:
        """Publish the spool for up to ``timeout_s``; returns how many articles are left."""
        return await self._in_sink(self.publisher.drain, timeout_s)

    async def close(self) -> None:
        await self._in_sink(self.publisher.close)
        self._sink.shutdown(wait=True)

    def _clamp(self, seconds: float) -> float:
        s = self.settings
        return min(max(seconds, s.producer_poll_min_s), s.producer_poll_max_s)

    def _count_states(self) -> None:
        for state in ("new", "ok", "not_modified", "failing", "dead", "disabled"):
            n = sum(1 for h in self.health.values() if h.state == state)
            metrics.FEED_STATES.labels(state).set(n)
        now, factor = datetime.now(UTC), self.settings.producer_silent_factor
        silent = silent_outlets(self.feeds, self.health, now, factor)
        for outlet in {f.outlet_id for f in self.feeds}:
            metrics.OUTLET_SILENT.labels(outlet).set(1 if outlet in silent else 0)
        for verdict in VERDICTS:
            n = sum(1 for h in self.health.values() if h.verdict == verdict)
            metrics.FEED_VERDICTS.labels(verdict).set(n)

    # --- one poll ------------------------------------------------------------------------------
    async def poll(self, feed: FeedSpec) -> PollOutcome:
        """Fetch, parse, publish one source; every failure becomes a state, never an exception."""
        health = self.health[feed.id]
        now = datetime.now(UTC)
        health.last_poll, health.polls = now, health.polls + 1
        self.totals["polls"] += 1
        try:
            async with self._slots:
                result = await self.fetcher.fetch(
                    feed.url, etag=health.etag, last_modified=health.last_modified
                )
            metrics.BYTES.inc(result.bytes_read)
            if result.status == 304:
                outcome = PollOutcome(feed.id, "not_modified", not_modified=True)
                metrics.POLLS.labels("not_modified").inc()
                health.verdict = health.verdict or "ok"
                self._succeeded(health, outcome, now)
            else:
                if is_challenge(result.body):
                    raise BlockedError("a bot challenge page instead of the feed")
                parsed = await self._parse(feed, result, now)
                report = await self._publish(parsed, pages=feed.type == "sitemap")
                outcome = self._outcome(feed, parsed, report)
                health.etag, health.last_modified = result.etag, result.last_modified
                health.items_last_poll = len(parsed.articles)
                health.encoding_note = parsed.encoding_note
                health.verdict, detail = result_verdict(
                    result, parsed.articles, now, self.thresholds
                )
                health.verdict_detail = detail or None
                metrics.POLLS.labels("ok").inc()
                self._succeeded(health, outcome, now)
        except (FetchError, NotAFeedError, SitemapError) as exc:
            outcome = self._failed(health, exc)
        except Exception as exc:  # a bug must not stop the other feeds: record it loudly
            log.exception("poll_crashed", feed=feed.id)
            outcome = self._failed(health, exc)
        await self._in_sink(self.state.save_feed, health)
        self._count_states()
        return outcome

    async def _parse(self, feed: FeedSpec, result: FetchResult, now: datetime) -> ParsedFeed:
        if feed.type == "feed":
            return await asyncio.to_thread(
                parse_feed,
                result.body,
                result.charset,
                source=feed.source,
                feed_url=feed.url,
                fetched_at=now,
            )
        before = dict(self._children)
        parsed = await read_news_sitemap(self.fetcher, feed, result, now, self._children)
        fetched = {u: v for u, v in self._children.items() if before.get(u) is not v}
        if fetched:
            await self._in_sink(self.state.save_children, fetched)
        return parsed

    async def _publish(self, parsed: ParsedFeed, *, pages: bool = False) -> SubmitReport:
        """Publish what is new; its page text first when full text is on, and always for a
        news sitemap's entries (they carry no body)."""
        articles = parsed.articles
        fulltext = self.fulltext or (self._pages if pages else None)
        if fulltext is not None and articles:
            fresh = await self._in_sink(self.publisher.unseen, articles)
            enriched = await fulltext.enrich([a for a in articles if a.id in fresh])
            by_id = {a.id: a for a in enriched}
            articles = [by_id.get(a.id, a) for a in articles]
        return await self._in_sink(self.publisher.submit, articles)

    def _outcome(self, feed: FeedSpec, parsed: ParsedFeed, report: SubmitReport) -> PollOutcome:
        for reason in parsed.skipped:
            metrics.FETCH_ERRORS.labels("bad_entry").inc()
            log.warning("entry_skipped", feed=feed.id, reason=reason)
        if parsed.error:
            metrics.FETCH_ERRORS.labels("malformed_xml").inc()
            log.warning("feed_malformed", feed=feed.id, error=parsed.error)
        problems = [*([parsed.error] if parsed.error else []), *report.errors]
        return PollOutcome(
            feed.id,
            "ok",
            new=report.new,
            updated=report.updated,
            duplicate=report.duplicate,
            spooled=report.spooled,
            skipped=len(parsed.skipped),
            error="; ".join(problems) or None,
        )

    def _succeeded(self, health: FeedHealth, outcome: PollOutcome, now: datetime) -> None:
        fresh = outcome.new + outcome.updated
        health.state = "not_modified" if outcome.not_modified else "ok"
        health.consecutive_failures = health.permanent_failures = 0
        health.last_success = now
        health.new_last_poll = fresh
        if fresh:
            health.saw_new(now, EWMA_WEIGHT)
        health.new_per_poll = (1 - EWMA_WEIGHT) * health.new_per_poll + EWMA_WEIGHT * fresh
        health.interval_s = self._clamp(health.interval_s * (FASTER if fresh else SLOWER))
        if outcome.error:  # parsed with salvage, or some articles went to the spool
            health.last_error = outcome.error
        self.totals["new"] += outcome.new
        self.totals["updated"] += outcome.updated

    def _failed(self, health: FeedHealth, exc: Exception) -> PollOutcome:
        kind = (
            exc.kind
            if isinstance(exc, FetchError)
            else ("not_a_feed" if isinstance(exc, NotAFeedError | SitemapError) else "internal")
        )
        permanent = isinstance(exc, FetchError) and exc.permanent
        if isinstance(exc, HTTPStatusError) and exc.retry_after is not None:
            self._retry_after[health.id] = exc.retry_after  # 429/503: the server said when
        health.consecutive_failures += 1
        health.permanent_failures = health.permanent_failures + 1 if permanent else 0
        dead = health.permanent_failures >= self.settings.producer_dead_after
        health.state = "dead" if dead else "failing"
        health.last_error, health.last_error_kind = f"{kind}: {exc}", kind
        health.verdict, health.verdict_detail = error_verdict(exc)
        metrics.POLLS.labels("error").inc()
        metrics.FETCH_ERRORS.labels(kind).inc()
        self.totals["errors"] += 1
        log.warning(
            "poll_failed",
            feed=health.id,
            kind=kind,
            error=str(exc),
            failures=health.consecutive_failures,
            state=health.state,
        )
        return PollOutcome(health.id, health.state, error=health.last_error)

    def next_delay(self, feed_id: str) -> float:
        """Seconds until the feed's next poll: its interval, or its backoff while failing."""
        health = self.health[feed_id]
        if health.consecutive_failures:
            # 2**16 intervals is far past any cap: bounds the float, not the policy.
            backoff = health.interval_s * 2 ** min(health.consecutive_failures, 16)
            delay = min(backoff, self.settings.producer_backoff_max_s)
            return max(jittered(delay, self.rng), self._retry_after.pop(feed_id, 0.0))
        return jittered(health.interval_s, self.rng)

    # --- running -------------------------------------------------------------------------------
    def enabled(self) -> list[FeedSpec]:
        return [f for f in self.feeds if f.enabled]

    async def run_once(self) -> list[PollOutcome]:
        """Poll every enabled feed once (concurrently, politely) and retry the spool."""
        outcomes = await asyncio.gather(*(self.poll(f) for f in self.enabled()))
        await self._in_sink(self.publisher.flush_spool)
        return list(outcomes)

    async def _feed_loop(self, feed: FeedSpec) -> None:
        # Start feeds spread over the first minute instead of all at once.
        await asyncio.sleep(self.rng.uniform(0, min(self.health[feed.id].interval_s, 60.0)))
        while True:
            await self.poll(feed)
            await asyncio.sleep(self.next_delay(feed.id))

    async def _spool_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.producer_spool_retry_s)
            sent = await self._in_sink(self.publisher.flush_spool)
            if sent:
                log.info("spool_flushed", sent=sent)

    async def _progress_loop(self) -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY_S)
            states = {h.state for h in self.health.values()}
            counts = {s: sum(1 for h in self.health.values() if h.state == s) for s in states}
            spool = await self._in_sink(self.publisher.spool.size)
            log.info("progress", **self.totals, spool=spool, **counts)

    async def run_forever(self) -> None:
        await self._in_sink(self.publisher.flush_spool)  # what an earlier run left, first
        tasks = [asyncio.create_task(self._feed_loop(f)) for f in self.enabled()]
        tasks += [
            asyncio.create_task(self._spool_loop()),
            asyncio.create_task(self._progress_loop()),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
