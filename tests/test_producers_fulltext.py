"""The optional full-text fetch replaces a feed's summary with the page's main text."""

from __future__ import annotations

import gzip
import html
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from producers.fetch import Fetcher, FetchLimits
from producers.fulltext import FullText
from producers.replay import corpus_article
from rasad.core.article import Article, Source
from tests.producers_fixtures import CORPUS, FeedServer, producer_settings, static

SOURCE = Source(id="alarabiya", name="العربية", country="AE", kind="private")


def long_corpus_record() -> dict[str, str]:
    with gzip.open(CORPUS, "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if len(record["text"]) > 2000 and record["text"].count("\n") >= 3:
                return dict(record)
    raise AssertionError("the corpus should hold a long multi-paragraph article")


def article_page(record: dict[str, str]) -> bytes:
    """An outlet's page: navigation, a script and a footer around the article's paragraphs."""
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in record["text"].split("\n") if p)
    return (
        "<html><head><meta charset='utf-8'><title>" + html.escape(record["title"]) + "</title>"
        "<script>window.stolen = document.cookie;</script></head><body>"
        "<nav><a href='/'>الرئيسية</a> <a href='/sport'>رياضة</a></nav>"
        f"<article><h1>{html.escape(record['title'])}</h1>{paragraphs}</article>"
        "<footer>جميع الحقوق محفوظة</footer></body></html>"
    ).encode()


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    srv = FeedServer()
    await srv.start()
    yield srv
    await srv.stop()


def summary_only(record: dict[str, str], url: str) -> Article:
    article = corpus_article(record, SOURCE, "http://feed.invalid/rss", datetime.now(UTC))
    return article.model_copy(
        update={"url": url, "body": record["abstract"], "body_kind": "summary"}
    )


async def test_a_summary_becomes_the_pages_main_text_and_a_dead_page_keeps_the_summary(
    server: FeedServer, tmp_path: Path
) -> None:
    record = long_corpus_record()
    server.routes["/article"] = static(article_page(record), "text/html; charset=utf-8")
    with_page = summary_only(record, server.url("/article"))
    without_page = summary_only(record, server.url("/gone"))

    settings = producer_settings(tmp_path)
    async with Fetcher(FetchLimits.from_settings(settings)) as fetcher:
        fetched, kept = await FullText(fetcher, concurrency=2).enrich([with_page, without_page])

    middle_sentence = record["text"].split("\n")[1].strip()[:80]
    assert fetched.body_kind == "full_text"
    assert middle_sentence in fetched.body
    assert "document.cookie" not in fetched.body
    assert fetched.content_hash == with_page.content_hash  # not an "update" at every poll
    assert kept == without_page
