"""Parsing gets Arabic right: any encoding/label combination, malformed XML, HTML everywhere."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape

import pytest

from producers.parse import NotAFeedError, parse_feed
from producers.text import clean_text
from rasad.core.article import Source
from tests.producers_fixtures import NABD, PROSPECT

SOURCE = Source(id="ahewar", name="الحوار المتمدن", country="INT", kind="private")
FETCHED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FEED_URL = "https://feeds.example.test/rss"


def parse(body: bytes, charset: str | None = None):  # type: ignore[no-untyped-def]
    return parse_feed(body, charset, source=SOURCE, feed_url=FEED_URL, fetched_at=FETCHED)


REAL = parse((PROSPECT / "ahewar.xml").read_bytes()).articles
TITLES = [a.title for a in REAL]


def rss(encoding_decl: str | None, items: str | None = None) -> str:
    """A small RSS document of the real ahewar items (pure Arabic titles and summaries)."""
    decl = f'<?xml version="1.0" encoding="{encoding_decl}"?>\n' if encoding_decl else ""
    body = items or "".join(
        f"<item><title>{escape(a.title)}</title><link>{escape(a.url)}</link>"
        f"<description>{escape(a.summary)}</description>"
        f"<pubDate>Sat, 28 Feb 2026 10:00:00 +0300</pubDate></item>"
        for a in REAL
    )
    return f'{decl}<rss version="2.0"><channel><title>الحوار</title>{body}</channel></rss>'


@pytest.mark.parametrize(
    ("encoding", "decl", "http_charset"),
    [
        ("windows-1256", "windows-1256", None),  # correct declaration
        ("windows-1256", None, "windows-1256"),  # only the HTTP header says it
        ("windows-1256", None, None),  # no label at all
        ("windows-1256", "utf-8", None),  # declaration lies
        ("windows-1256", None, "iso-8859-1"),  # HTTP header lies (a common server default)
        ("iso-8859-6", "iso-8859-6", None),
        ("iso-8859-6", None, "ISO-8859-6"),
        ("iso-8859-6", None, None),
        ("iso-8859-6", None, "windows-1256"),  # mislabelled as the other Arabic codepage
        ("utf-8", "windows-1256", None),  # UTF-8 bytes, stale declaration
        ("utf-8", None, "windows-1256"),
    ],
)
def test_arabic_feeds_decode_whatever_the_labels_say(
    encoding: str, decl: str | None, http_charset: str | None
) -> None:
    body = rss(decl).encode(encoding)
    parsed = parse(body, http_charset)
    assert [a.title for a in parsed.articles] == TITLES
    assert [a.summary for a in parsed.articles] == [a.summary for a in REAL]
    assert parsed.encoding == codecs.lookup(encoding).name


@pytest.mark.parametrize("bom_encoding", ["utf-8-sig", "utf-16"])
def test_a_byte_order_mark_wins_over_a_wrong_declaration(bom_encoding: str) -> None:
    body = rss("windows-1256").encode(bom_encoding)
    assert [a.title for a in parse(body, "iso-8859-6").articles] == TITLES


def test_a_mislabelled_feed_is_noted() -> None:
    parsed = parse(rss("utf-8").encode("windows-1256"))
    assert parsed.encoding_note == "labelled utf-8 but content is cp1256"


def test_truncated_xml_salvages_complete_items_and_records_the_error() -> None:
    whole = (PROSPECT / "hespress.xml").read_bytes()
    parsed = parse(whole[: int(len(whole) * 0.6)])
    complete = parse(whole).articles
    assert parsed.error
    assert 3 <= len(parsed.articles) <= len(complete)
    assert [a.title for a in parsed.articles[:3]] == [a.title for a in complete[:3]]


def test_an_html_page_is_not_a_feed() -> None:
    page = "<!DOCTYPE html><html><head><title>الصفحة الرئيسية</title></head><body><h1>أخبار</h1>"
    with pytest.raises(NotAFeedError):
        parse((page + "<p>نص</p></body></html>").encode())


def test_html_in_titles_and_summaries_becomes_clean_text() -> None:
    item = (
        "<item><title>&lt;b&gt;عاجل:&lt;/b&gt; قمة &amp;amp; مؤتمر</title>"
        "<link>/news/1</link><description>&lt;p&gt;الفقرة الأولى&lt;/p&gt;"
        "&lt;script&gt;alert(1)&lt;/script&gt;&lt;style&gt;p{}&lt;/style&gt;"
        "&lt;p&gt;الفقرة&amp;nbsp;الثانية&lt;/p&gt;</description></item>"
    )
    [article] = parse(rss("utf-8", item).encode()).articles
    assert article.title == "عاجل: قمة & مؤتمر"
    assert article.summary == "الفقرة الأولى\nالفقرة الثانية"
    assert article.url == "https://feeds.example.test/news/1"  # relative link resolved


def test_titles_with_newlines_become_one_line() -> None:
    [first, *_] = parse((PROSPECT / "hespress.xml").read_bytes()).articles
    assert "\n" not in first.title and first.title == first.title.strip()


def _dated(pub: str) -> str:
    return f"<item><title>خبر</title><link>https://x.test/a</link>{pub}</item>"


def test_missing_unparsable_and_future_dates_fall_back_to_fetch_time() -> None:
    future = (FETCHED + timedelta(days=2)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    cases = {
        "": "missing",
        "<pubDate></pubDate>": "missing",
        "<pubDate>الأحد صباحا</pubDate>": "unparsable",
        f"<pubDate>{future}</pubDate>": "future",
    }
    for pub, flag in cases.items():
        [article] = parse(rss("utf-8", _dated(pub)).encode()).articles
        assert (article.date_flag, article.published_at) == (flag, FETCHED), pub


def test_dates_are_converted_to_utc() -> None:
    [article] = parse(
        rss("utf-8", _dated("<pubDate>Sun, 18 Feb 2018 21:35:43 +0400</pubDate>")).encode()
    ).articles
    assert article.published_at == datetime(2018, 2, 18, 17, 35, 43, tzinfo=UTC)
    assert article.date_flag == "ok"


def test_atom_content_is_the_full_body_and_authors_categories_survive() -> None:
    articles = parse((NABD / "atom.xml").read_bytes()).articles
    assert len(articles) == 10
    assert all(a.body_kind == "full_text" and len(a.body) >= len(a.summary) for a in articles)
    assert articles[0].authors and articles[0].categories


def test_clean_text_keeps_plain_text_untouched() -> None:
    assert clean_text("  نص   عادي  ", single_line=True) == "نص عادي"
