"""One verdict per source: what `rasad feeds check` prints and what the poller records.

The classification is pure (a fetch result or the error it raised, the parsed items, the clock);
:func:`check_source` is the one request that feeds it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from producers.fetch import (
    BlockedError,
    DNSError,
    Fetcher,
    FetchError,
    FetchResult,
    FetchTimeoutError,
    HTTPStatusError,
    is_challenge,
)
from producers.parse import NotAFeedError, parse_feed
from producers.registry import FeedSpec
from producers.sitemaps import SitemapError, entry_article, parse_sitemap
from rasad.core.article import Article

Verdict = Literal[
    "ok", "stale", "empty", "not-a-feed", "blocked", "moved", "gone", "slow", "error", "no-source"
]
VERDICTS: tuple[str, ...] = get_args(Verdict)
# Verdicts that mean the URL itself is wrong: `rasad feeds check` exits non-zero on them.
FATAL: frozenset[str] = frozenset({"gone"})
_ARABIC_LETTER = re.compile(r"[\u0621-\u064A\u0671-\u06D3]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
# An item is Arabic when most of its title's letters are: mixed titles ("قمة G20") still count.
ARABIC_MAJORITY = 0.5


@dataclass(frozen=True)
class Thresholds:
    stale_after: timedelta  # newest item older than this: stale
    slow_after_s: float  # a fetch slower than this: slow


@dataclass
class CheckResult:
    source_id: str
    outlet: str
    url: str
    verdict: Verdict
    detail: str = ""
    status: int | None = None
    items: int = 0
    newest_age_s: float | None = None
    arabic_share: float | None = None
    new_url: str | None = None
    elapsed_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def is_arabic(text: str) -> bool:
    arabic = len(_ARABIC_LETTER.findall(text))
    latin = len(_LATIN_LETTER.findall(text))
    return arabic > 0 and arabic / (arabic + latin) > ARABIC_MAJORITY


def arabic_share(titles: Sequence[str]) -> float | None:
    return sum(1 for t in titles if is_arabic(t)) / len(titles) if titles else None


def error_verdict(exc: Exception) -> tuple[Verdict, str]:
    """The verdict of a fetch or parse that failed."""
    if isinstance(exc, BlockedError):
        return "blocked", str(exc)
    if isinstance(exc, HTTPStatusError):
        if exc.status in (403, 429) or exc.challenge:
            return "blocked", str(exc)
        if exc.status in (404, 410):
            return "gone", str(exc)
        return "error", str(exc)
    if isinstance(exc, DNSError):
        return "gone", str(exc)
    if isinstance(exc, FetchTimeoutError):
        return "slow", str(exc)
    if isinstance(exc, NotAFeedError | SitemapError):
        return "not-a-feed", str(exc)
    if isinstance(exc, FetchError):
        return "error", f"{exc.kind}: {exc}"
    return "error", f"{type(exc).__name__}: {exc}"


def newest(articles: Sequence[Article]) -> datetime | None:
    dated = [a.published_at for a in articles if a.date_flag == "ok"]
    return max(dated) if dated else None


def items_verdict(
    articles: Sequence[Article], now: datetime, limits: Thresholds
) -> tuple[Verdict, str]:
    """The verdict of a source that answered with items (or none)."""
    if not articles:
        return "empty", "no items"
    latest = newest(articles)
    if latest is not None and now - latest > limits.stale_after:
        return "stale", f"newest item {(now - latest).days} days old"
    return "ok", ""


def result_verdict(
    result: FetchResult, articles: Sequence[Article], now: datetime, limits: Thresholds
) -> tuple[Verdict, str]:
    """A 200 that parsed: moved beats empty/stale, which beat slow."""
    if result.moved_to is not None:
        return "moved", f"permanently redirected to {result.moved_to}"
    verdict, detail = items_verdict(articles, now, limits)
    if verdict == "ok" and result.elapsed_s > limits.slow_after_s:
        return "slow", f"answered in {result.elapsed_s:.1f} s"
    return verdict, detail


async def check_all(
    fetcher: Fetcher, specs: Sequence[FeedSpec], now: datetime, limits: Thresholds
) -> list[CheckResult]:
    """One request per source, concurrently; the fetcher keeps one request at a time per host."""
    return list(await asyncio.gather(*(check_source(fetcher, s, now, limits) for s in specs)))


async def check_source(
    fetcher: Fetcher, spec: FeedSpec, now: datetime, limits: Thresholds
) -> CheckResult:
    """One unconditional request to the source and its verdict; never raises."""
    check = CheckResult(spec.id, spec.outlet_id, spec.url, "error")
    try:
        result = await fetcher.fetch(spec.url)
        check.status, check.elapsed_s = result.status, round(result.elapsed_s, 3)
        check.new_url = result.moved_to
        if is_challenge(result.body):
            raise BlockedError("a bot challenge page instead of the feed")
        articles, note = await asyncio.to_thread(_parse, spec, result, now)
    except Exception as exc:  # every failure is a verdict, never a crash of the whole check
        check.verdict, check.detail = error_verdict(exc)
        if isinstance(exc, HTTPStatusError):
            check.status = exc.status
        return check
    check.items = len(articles)
    latest = newest(articles)
    check.newest_age_s = (now - latest).total_seconds() if latest else None
    check.arabic_share = arabic_share([a.title for a in articles])
    check.verdict, check.detail = result_verdict(result, articles, now, limits)
    if note and check.verdict == "empty":
        check.verdict, check.detail = "ok", note  # a sitemap index: its children carry the items
    return check


def _looks_like_sitemap(body: bytes) -> bool:
    head = body[:2048]
    return b"<urlset" in head or b"<sitemapindex" in head


def _parse(spec: FeedSpec, result: FetchResult, now: datetime) -> tuple[list[Article], str]:
    if spec.type == "sitemap" or _looks_like_sitemap(result.body):
        sitemap = parse_sitemap(result.body, result.charset)
        articles = [
            entry_article(e, source=spec.source, url=spec.url, fetched_at=now)
            for e in sitemap.entries
        ]
        note = f"sitemap index of {len(sitemap.children)}" if sitemap.kind == "index" else ""
        return articles, note
    parsed = parse_feed(
        result.body, result.charset, source=spec.source, feed_url=spec.url, fetched_at=now
    )
    return parsed.articles, ""
