"""Find an outlet's sources: feeds from its homepage's alternate links (trafilatura's feed
finder) and common paths, news sitemaps from robots.txt `Sitemap:` lines, common paths and
sitemap indexes. Every candidate is fetched once, politely, and kept only if it works.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from trafilatura.feeds import FeedParameters, determine_feed

from producers.canonical import host_of
from producers.check import Thresholds, check_source
from producers.encoding import decode
from producers.fetch import Fetcher, FetchError
from producers.registry import FeedSpec, SourceType
from producers.robots import Robots
from producers.sitemap_source import news_children
from producers.sitemaps import SitemapError, parse_sitemap

# Where CMSs put feeds when the homepage does not link them (WordPress, Drupal, Ghost, Hugo).
COMMON_FEED_PATHS = ("/feed", "/rss", "/rss.xml", "/feed.xml", "/atom.xml")
# Where news sitemaps usually are when robots.txt does not say (Yoast, Google's examples).
COMMON_SITEMAP_PATHS = ("/news-sitemap.xml", "/sitemap_news.xml", "/sitemap.xml")
# Sitemaps fetched per outlet: an index of a big site lists thousands, we want the news ones.
MAX_SITEMAPS = 10
# Verdicts of a feed worth proposing: it answers with items (old ones are still a feed).
USABLE = frozenset({"ok", "stale", "moved", "slow"})


@dataclass
class Proposal:
    type: SourceType
    url: str
    found_by: str  # "alternate link", "common path", "robots.txt", "sitemap index"
    verdict: str
    items: int
    known: bool = False  # already in the registry

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def alternate_links(fetcher: Fetcher, homepage: str) -> list[str]:
    """The feeds a homepage links with <link rel="alternate"> (or, failing that, <a>)."""
    try:
        page = await fetcher.fetch(homepage)
    except FetchError:
        return []
    parts = urlsplit(page.url)
    params = FeedParameters(f"{parts.scheme}://{parts.netloc}", host_of(page.url), page.url)
    return determine_feed(decode(page.body, page.charset).text, params)


async def find_feeds(
    fetcher: Fetcher, homepage: str, now: datetime, limits: Thresholds
) -> list[Proposal]:
    linked = await alternate_links(fetcher, homepage)
    common = [urljoin(homepage, p) for p in COMMON_FEED_PATHS]
    found: dict[str, Proposal] = {}
    for url in dict.fromkeys([*linked, *common]):
        check = await check_source(fetcher, FeedSpec.for_url(url, "candidate"), now, limits)
        final = check.new_url or url
        if check.verdict in USABLE and final not in found:
            how = "alternate link" if url in linked else "common path"
            found[final] = Proposal("feed", final, how, check.verdict, check.items)
    return list(found.values())


async def find_news_sitemaps(fetcher: Fetcher, robots: Robots, homepage: str) -> list[Proposal]:
    """News sitemaps: urlsets with <news:news> entries, reached from robots.txt or common
    paths, through sitemap indexes (news-named children first), at most MAX_SITEMAPS fetches."""
    declared = await robots.sitemaps(homepage)
    queue = deque((url, "robots.txt") for url in declared)
    if not declared:
        queue.extend((urljoin(homepage, p), "common path") for p in COMMON_SITEMAP_PATHS)
    seen: set[str] = set()
    found: list[Proposal] = []
    while queue and len(seen) < MAX_SITEMAPS:
        url, how = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        try:
            result = await fetcher.fetch(url)
            sitemap = parse_sitemap(result.body, result.charset)
        except (FetchError, SitemapError):
            continue
        if sitemap.kind == "index":
            queue.extend((child, "sitemap index") for child in news_children(sitemap))
        elif sitemap.entries:
            found.append(Proposal("sitemap", result.url, how, "ok", len(sitemap.entries)))
    return found


async def discover(
    fetcher: Fetcher, homepage: str, now: datetime, limits: Thresholds, known: set[str]
) -> list[Proposal]:
    """Every working feed and news sitemap of the site at ``homepage``."""
    feeds = await find_feeds(fetcher, homepage, now, limits)
    sitemaps = await find_news_sitemaps(fetcher, Robots(fetcher), homepage)
    proposals = [*feeds, *sitemaps]
    for p in proposals:
        p.known = p.url in known
    return proposals
