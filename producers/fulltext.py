"""Optional full text of an article's page (many feeds carry only a summary).

Off by default (``producer_fulltext``); always on for news-sitemap entries, which carry no
body. A page is fetched only where the host's robots.txt allows Rasad, through the same
polite, bounded :class:`~producers.fetch.Fetcher` as feeds; trafilatura extracts the main
text on a worker thread. The content hash stays the feed's, so a page fetched once is not
"updated" at every poll; a failure keeps the article as the feed gave it and is counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import trafilatura

from producers import metrics
from producers.encoding import decode
from producers.fetch import Fetcher, FetchError
from producers.robots import Robots
from producers.text import clean_text
from rasad.core.article import Article
from rasad.core.logs import get_logger

log = get_logger(__name__)


def extract_text(html: str, url: str) -> str:
    """Main text of an article page (pure CPU work; no network)."""
    text = trafilatura.extract(
        html, url=url, include_comments=False, include_tables=False, favor_precision=True
    )
    return clean_text(text) if text else ""


class FullText:
    def __init__(self, fetcher: Fetcher, concurrency: int, robots: Robots | None = None) -> None:
        self._fetcher = fetcher
        self._slots = asyncio.Semaphore(concurrency)
        self._robots = robots or Robots(fetcher)

    async def _one(self, article: Article) -> Article:
        async with self._slots:
            if not await self._robots.allowed(article.url):
                metrics.FETCH_ERRORS.labels("fulltext_robots").inc()
                log.info("fulltext_disallowed_by_robots", url=article.url)
                return article
            try:
                page = await self._fetcher.fetch(article.url)
            except FetchError as exc:
                metrics.FETCH_ERRORS.labels(f"fulltext_{exc.kind}").inc()
                log.info("fulltext_failed", url=article.url, kind=exc.kind, error=str(exc))
                return article
        html = decode(page.body, page.charset).text
        text = await asyncio.to_thread(extract_text, html, page.url)
        if len(text) <= len(article.body):
            return article  # the feed already had more than the page gave us
        return article.model_copy(update={"body": text, "body_kind": "full_text"})

    async def enrich(self, articles: Sequence[Article]) -> list[Article]:
        return list(await asyncio.gather(*(self._one(a) for a in articles)))
