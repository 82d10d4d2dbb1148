"""News sitemaps are a source: parsed safely (UTF-8 and windows-1256 Arabic, no DTDs, capped),
polled through the same poller as feeds into the real broker, with each page's text fetched only
where robots.txt allows Rasad, on the realistic site of tests/site_fixtures.py."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from producers.fetch import Fetcher, FetchLimits
from producers.registry import FeedSpec
from producers.robots import Robots
from producers.runner import open_poller
from producers.sitemaps import SitemapError, parse_sitemap
from rasad.core.settings import Settings
from tests.producers_fixtures import FeedServer, producer_settings, read_topic
from tests.site_fixtures import ENTITY_BOMB, ITEMS, gzip_bomb, urlset

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
# The hostile inputs must be refused well before they cost this much memory.
MEMORY_BUDGET = 60 * 1024 * 1024


@pytest.fixture
async def site() -> AsyncIterator[FeedServer]:
    from tests.site_fixtures import serve_site

    server = FeedServer()
    await server.start()
    await serve_site(server)
    yield server
    await server.stop()


def test_a_windows_1256_news_sitemap_gives_arabic_titles_dates_and_keywords() -> None:
    sitemap = parse_sitemap(urlset("https://nabd.test", range(4, 7), "windows-1256", NOW))
    assert [e.title for e in sitemap.entries] == [i.title for i in ITEMS[4:7]]
    first = sitemap.entries[0]
    assert first.url == "https://nabd.test/news/4.html" and first.language == "ar"
    assert first.keywords == ["نبض شرقي", "ثقافة"]
    assert first.published_raw == "2026-12-06T22:00:00+00:00"  # five hours before NOW


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (ENTITY_BOMB, "DTDForbidden"),
        (gzip_bomb(), "gzip bomb"),
        (b"<html><body>not a sitemap</body></html>", "not a sitemap"),
        (b"<urlset", "not well-formed"),
    ],
)
def test_hostile_or_broken_sitemaps_are_refused_within_a_small_memory_budget(
    body: bytes, reason: str
) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(SitemapError, match=reason):
            parse_sitemap(body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BUDGET


async def test_robots_txt_is_read_once_per_host_and_obeyed(
    site: FeedServer, tmp_path: Path
) -> None:
    settings = producer_settings(tmp_path)
    async with Fetcher(FetchLimits.from_settings(settings)) as fetcher:
        robots = Robots(fetcher)
        assert await robots.allowed(site.url("/news/1.html"))
        assert not await robots.allowed(site.url("/private/0.html"))
        assert not await robots.allowed(site.url("/search?q=غزة"))
        assert await robots.sitemaps(site.url("/")) == [site.url("/sitemap_index.xml")]
    assert sum(1 for r in site.requests if r.path == "/robots.txt") == 1
    assert "Rasad" in site.requests[0].headers["User-Agent"]
    assert "+https://" in site.requests[0].headers["User-Agent"]  # a contact URL


def news_sitemap(site: FeedServer) -> FeedSpec:
    """The site's news sitemap index as an outlet's source."""
    return FeedSpec(
        id="nabd-sitemap1",
        outlet="nabd",
        name="نبض شرقي",
        url=site.url("/sitemap_index.xml"),
        country="SY",
        kind="private",
        interval=60,
        enabled=True,
        type="sitemap",
    )


async def test_a_news_sitemap_index_is_polled_into_articles_with_their_page_text(
    live_stack: Settings, new_topic: Callable[..., str], site: FeedServer, tmp_path: Path
) -> None:
    settings = producer_settings(tmp_path, topic_raw=new_topic("producers"))
    source = news_sitemap(site)
    async with open_poller(settings, [source]) as poller:
        [first] = await poller.run_once()
        [again] = await poller.run_once()
    assert (first.state, first.new) == ("ok", 7)  # 4 in the UTF-8 sitemap, 3 in windows-1256
    assert again.new == 0  # polled again: nothing new, nothing sent twice
    child = [r for r in site.requests if r.path == "/news-sitemap.xml"]
    assert len(child) == 2 and "If-None-Match" in child[1].headers  # 304 the second time
    articles = {a.url: a for _, a in read_topic(settings, settings.topic_raw)}
    assert len(articles) == 7
    one = articles[site.url("/news/1.html")]
    assert one.title == ITEMS[1].title and one.source.id == "nabd"
    assert one.body_kind == "full_text" and one.body
    assert one.categories == ["نبض شرقي", "ثقافة"]
    private = articles[site.url("/private/0.html")]
    assert private.title == ITEMS[0].title and private.body == ""  # robots.txt: not fetched
    assert not any(r.path.startswith("/private/") for r in site.requests)
    assert poller.health["nabd-sitemap1"].verdict == "ok"


async def test_a_restarted_producer_asks_for_child_sitemaps_conditionally(
    live_stack: Settings, new_topic: Callable[..., str], site: FeedServer, tmp_path: Path
) -> None:
    settings = producer_settings(tmp_path, topic_raw=new_topic("restart"))
    outcomes = []
    for _run in range(2):  # a producer, stopped, then started again on the same data dir
        async with open_poller(settings, [news_sitemap(site)]) as poller:
            outcomes += await poller.run_once()

    assert [o.new for o in outcomes] == [7, 0]
    for child in ("/news-sitemap.xml", "/news-sitemap-1256.xml"):
        asked = [r for r in site.requests if r.path == child]
        assert len(asked) == 2 and "If-None-Match" in asked[1].headers, child
    assert poller.health["nabd-sitemap1"].verdict == "ok"  # the saved entries still count
