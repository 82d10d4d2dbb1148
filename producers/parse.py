"""Feed bytes -> articles (pure: no I/O, no clock; the caller passes fetched_at).

feedparser does the XML; we do the rest ourselves because it matters for Arabic and for speed:
decoding (see :mod:`producers.encoding`), HTML -> text (see :mod:`producers.text`; feedparser's
sanitizer and relative-URI resolution are off), link resolution, ids and dates.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import feedparser

from producers.canonical import article_id, canonicalize
from producers.encoding import decode, to_utf8_xml
from producers.text import clean_text, content_hash
from rasad.core.article import Article, BodyKind, DateFlag, Source

# Outlets' clocks and time-zone mistakes: a date this far ahead of our fetch is not believed.
FUTURE_TOLERANCE = timedelta(minutes=15)
_UTF8_XML = {"content-type": "application/xml; charset=utf-8"}
# No news feed predates this year; an earlier date is a typo or hostile, so it is "unparsable"
# (and published_at falls back to the fetch time, saying so in date_flag).
EARLIEST_YEAR = 1900
# Body text cap: 200k characters of Arabic is ~400 KB of UTF-8, so a whole article message stays
# under Kafka's default 1 MB request size; no real news article comes close.
MAX_BODY_CHARS = 200_000


class NotAFeedError(ValueError):
    """The response is not RSS/Atom at all (an HTML page, an error page, garbage)."""


@dataclass
class ParsedFeed:
    articles: list[Article]
    encoding: str
    encoding_note: str | None = None
    error: str | None = None  # malformed XML: what we salvaged is in articles
    skipped: list[str] = field(default_factory=list)  # entries we could not use, and why


def parse_date(raw: str) -> datetime | None:
    """RFC 822 (RSS) or ISO 8601 (Atom) to an aware UTC datetime; naive dates are taken as UTC."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, year 9999 west of it: not a real date
        return None
    return parsed if parsed.year >= EARLIEST_YEAR else None


def resolve_date(
    parsed: datetime | None, raw: str | None, fetched_at: datetime
) -> tuple[datetime, DateFlag]:
    """The publication date to trust, and why it may be the fetch time instead."""
    if parsed is None:
        return fetched_at, ("unparsable" if raw and raw.strip() else "missing")
    if parsed > fetched_at + FUTURE_TOLERANCE:
        return fetched_at, "future"
    return parsed, "ok"


def make_article(
    *,
    url: str,
    title: str,
    summary: str,
    body: str,
    body_kind: BodyKind,
    published: datetime | None,
    published_raw: str | None,
    fetched_at: datetime,
    source: Source,
    feed_url: str,
    language: str | None = None,
    authors: Iterable[str] = (),
    categories: Iterable[str] = (),
    image_url: str | None = None,
) -> Article:
    """An Article from already-clean text; id, canonical URL, date flag and hash derived here."""
    canonical = canonicalize(url)
    if len(body) > MAX_BODY_CHARS:
        body, body_kind = body[:MAX_BODY_CHARS], "truncated"  # cut, and visibly so
    published_at, flag = resolve_date(published, published_raw, fetched_at)
    return Article(
        id=article_id(canonical),
        url=url,
        canonical_url=canonical,
        title=title,
        summary=summary,
        body=body,
        body_kind=body_kind if body else "none",
        published_at=published_at,
        date_flag=flag,
        fetched_at=fetched_at,
        source=source,
        feed_url=feed_url,
        language=language,
        authors=list(dict.fromkeys(a for a in authors if a)),
        categories=list(dict.fromkeys(c for c in categories if c)),
        image_url=image_url,
        content_hash=content_hash(title, summary, body),
    )


def _struct_to_utc(value: Any) -> datetime | None:
    if isinstance(value, time.struct_time):
        return datetime(*value[:6], tzinfo=UTC)
    return None


def _image(entry: Any) -> str | None:
    for key in ("media_content", "media_thumbnail"):
        for media in entry.get(key) or []:
            url = media.get("url")
            if url and (key == "media_thumbnail" or "image" in (media.get("type") or "image")):
                return str(url)
    for link in entry.get("links") or []:
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/"):
            return str(link.get("href"))
    return None


def _entry_article(entry: Any, base: str, ctx: tuple[Source, str, datetime, str | None]) -> Article:
    source, feed_url, fetched_at, language = ctx
    link = entry.get("link") or ""
    if not link and str(entry.get("id", "")).startswith(("http://", "https://")):
        link = entry["id"]
    if not link:
        raise ValueError("entry has no link")
    url = urljoin(base, link.strip())
    summary = clean_text(entry.get("summary") or "")
    contents = entry.get("content") or []
    body_html = max((c.get("value") or "" for c in contents), key=len, default="")
    body = clean_text(body_html) if body_html else summary
    raw_date = entry.get("published") or entry.get("updated")
    parsed = _struct_to_utc(entry.get("published_parsed") or entry.get("updated_parsed"))
    authors = [a.get("name", "") for a in entry.get("authors") or []] or [entry.get("author", "")]
    return make_article(
        url=url,
        title=clean_text(entry.get("title") or "", single_line=True),
        summary=summary,
        body=body,
        body_kind="full_text" if body_html else "summary",
        published=parsed,
        published_raw=raw_date,
        fetched_at=fetched_at,
        source=source,
        feed_url=feed_url,
        language=language,
        authors=(clean_text(a, single_line=True) for a in authors),
        categories=(
            clean_text(t.get("term") or "", single_line=True) for t in entry.get("tags") or []
        ),
        image_url=_image(entry),
    )


def parse_feed(
    body: bytes, http_charset: str | None, *, source: Source, feed_url: str, fetched_at: datetime
) -> ParsedFeed:
    """Every usable entry of an RSS/Atom document as an Article.

    Raises NotAFeedError when the bytes are not a feed; a malformed feed salvages what it can
    and reports the XML error in ``ParsedFeed.error``.
    """
    decoded = decode(body, http_charset)
    doc = feedparser.parse(
        to_utf8_xml(decoded.text),
        response_headers=_UTF8_XML,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    error = str(doc.get("bozo_exception")) if doc.get("bozo") else None
    if not doc.get("version") and not doc.entries:
        raise NotAFeedError(f"not an RSS/Atom feed ({error or 'no feed elements'})")
    base = doc.feed.get("link") or feed_url
    base = urljoin(feed_url, base)
    language = doc.feed.get("language") or None
    ctx = (source, feed_url, fetched_at, language)
    result = ParsedFeed([], decoded.encoding, decoded.note, error)
    for index, entry in enumerate(doc.entries):
        try:
            result.articles.append(_entry_article(entry, base, ctx))
        except ValueError as exc:
            title = clean_text(entry.get("title") or "", single_line=True)[:60]
            result.skipped.append(f"entry {index} ({title!r}): {exc}")
    return result
