"""A news sitemap as a source: the poller's fetch of it, its index's children, its entries.

A sitemap index is followed one level down (an index of indexes is a whole-site map, not news),
through the same polite fetcher, so every child fetch waits its turn at the host like a feed.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from producers.fetch import Fetcher, FetchError, FetchResult
from producers.parse import ParsedFeed
from producers.registry import FeedSpec
from producers.sitemaps import Sitemap, SitemapError, entry_article, parse_sitemap
from producers.state import Validators

# Children of an index fetched per poll. News indexes list one to a few sitemaps; a whole-site
# index lists thousands, and reading them all at every poll would be anything but polite.
MAX_CHILDREN = 3


def news_children(index: Sitemap) -> list[str]:
    """The children most likely to be news sitemaps: those named so, else the first ones."""
    named = [url for url in index.children if "news" in url.lower()]
    return (named or index.children)[:MAX_CHILDREN]


async def read_news_sitemap(
    fetcher: Fetcher,
    feed: FeedSpec,
    result: FetchResult,
    now: datetime,
    validators: Validators | None = None,
) -> ParsedFeed:
    """The articles of a news sitemap (or of the news sitemaps its index lists). Children are
    fetched conditionally with ``validators``, so an unchanged one costs a 304 like a feed; a
    child answered in full gets a new entry there (a new tuple: the caller saves those)."""
    validators = {} if validators is None else validators
    sitemap = await asyncio.to_thread(parse_sitemap, result.body, result.charset)
    problems = ["cut at the protocol's 50,000 entries"] if sitemap.truncated else []
    entries = list(sitemap.entries)
    if sitemap.kind == "index":
        for url in news_children(sitemap):
            etag, modified, known = validators.get(url, (None, None, []))
            try:
                child = await fetcher.fetch(url, etag=etag, last_modified=modified)
                if child.status != 304:
                    parsed = await asyncio.to_thread(parse_sitemap, child.body, child.charset)
                    known = parsed.entries
                    validators[url] = (child.etag, child.last_modified, known)
            except (FetchError, SitemapError) as exc:
                problems.append(f"{url}: {exc}")
                continue
            entries += known
    articles = [entry_article(e, source=feed.source, url=feed.url, fetched_at=now) for e in entries]
    unique = list({a.id: a for a in articles}.values())
    if sitemap.kind == "index" and not entries and problems:
        raise SitemapError("; ".join(problems))
    return ParsedFeed(unique, encoding="utf-8", error="; ".join(problems) or None)
