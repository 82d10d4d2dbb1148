"""News sitemaps (sitemaps.org + Google News extension) -> articles, safely (pure: no I/O).

Sitemaps come from servers we do not control. The body is already capped on the wire and after
decompression by :mod:`producers.fetch`; here defusedxml refuses any DTD, so neither entity
expansion ("billion laughs") nor external entities can happen, and a sitemap with more URLs
than the protocol allows is cut at that limit, visibly.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from producers.encoding import decode, to_utf8_xml
from producers.parse import make_article, parse_date
from producers.text import clean_text
from rasad.core.article import Article, Source

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
# The sitemaps.org protocol's own caps per file: 50,000 URLs (or child sitemaps), 50 MB.
MAX_ENTRIES = 50_000
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
# Inflate step while measuring a gzip sitemap: the most memory a bomb can take.
INFLATE_STEP = 1024 * 1024


class SitemapError(ValueError):
    """Not a sitemap, malformed, or hostile (a DTD, entities): the sitemap gives no entries."""


@dataclass
class NewsEntry:
    url: str
    title: str
    published_raw: str | None
    keywords: list[str]
    language: str | None


@dataclass
class Sitemap:
    kind: str  # "index" or "urlset"
    children: list[str] = field(default_factory=list)  # an index's sitemaps
    entries: list[NewsEntry] = field(default_factory=list)  # a urlset's <url>s
    truncated: bool = False


def _text(node: Element | None) -> str:
    return (node.text or "").strip() if node is not None else ""


def gunzip(body: bytes, cap: int = MAX_SITEMAP_BYTES) -> bytes:
    """A `.xml.gz` sitemap file (served as-is, not Content-Encoded), never past ``cap``.

    The size is measured first, a megabyte at a time and kept nowhere, so a bomb costs a
    megabyte of memory, not ``cap``; only a sitemap within the cap is inflated for real."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    size, pending = 0, body
    try:
        while pending and not inflater.eof:
            size += len(inflater.decompress(pending, INFLATE_STEP))
            pending = inflater.unconsumed_tail
            if size > cap:
                raise SitemapError(f"gzip bomb: more than {cap} bytes once decompressed")
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    except zlib.error as exc:
        raise SitemapError(f"broken gzip: {exc}") from exc


def parse_sitemap(body: bytes, charset: str | None = None) -> Sitemap:
    """A sitemap index or urlset, decoded whatever its charset label (UTF-8, windows-1256)."""
    if body.startswith(GZIP_MAGIC):
        body = gunzip(body)
    xml = to_utf8_xml(decode(body, charset).text)
    try:
        root = fromstring(xml, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise SitemapError(
            f"refused: {type(exc).__name__} (DTDs and entities are not allowed)"
        ) from exc
    except ParseError as exc:
        raise SitemapError(f"not well-formed XML: {exc}") from exc
    if root.tag == f"{SM}sitemapindex":
        locs = [_text(s.find(f"{SM}loc")) for s in root.iter(f"{SM}sitemap")]
        locs = [loc for loc in locs if loc]
        return Sitemap("index", children=locs[:MAX_ENTRIES], truncated=len(locs) > MAX_ENTRIES)
    if root.tag != f"{SM}urlset":
        raise SitemapError(f"not a sitemap: root element {root.tag!r}")
    entries: list[NewsEntry] = []
    for url in root.iter(f"{SM}url"):
        if len(entries) == MAX_ENTRIES:
            return Sitemap("urlset", entries=entries, truncated=True)
        loc = _text(url.find(f"{SM}loc"))
        news = url.find(f"{NEWS}news")
        if not loc or news is None:
            continue  # a page, not a news item: news sitemaps carry <news:news>
        keywords = _text(news.find(f"{NEWS}keywords"))
        entries.append(
            NewsEntry(
                url=loc,
                title=clean_text(_text(news.find(f"{NEWS}title"))),
                published_raw=_text(news.find(f"{NEWS}publication_date")) or None,
                keywords=[k.strip() for k in keywords.split(",") if k.strip()],
                language=_text(news.find(f"{NEWS}publication/{NEWS}language")) or None,
            )
        )
    return Sitemap("urlset", entries=entries)


def entry_article(entry: NewsEntry, *, source: Source, url: str, fetched_at: datetime) -> Article:
    """An article from a news entry; its body comes later, from the page (full-text path)."""
    return make_article(
        url=entry.url,
        title=entry.title or entry.url,
        summary="",
        body="",
        body_kind="none",
        published=parse_date(entry.published_raw) if entry.published_raw else None,
        published_raw=entry.published_raw,
        fetched_at=fetched_at,
        source=source,
        feed_url=url,
        language=entry.language,
        categories=entry.keywords,
    )


def parse_news_sitemap(
    body: bytes, *, source: Source, url: str, fetched_at: datetime, charset: str | None = None
) -> list[Article]:
    """The news entries of a urlset as articles (an index has none: its children do)."""
    sitemap = parse_sitemap(body, charset)
    return [
        entry_article(e, source=source, url=url, fetched_at=fetched_at) for e in sitemap.entries
    ]
