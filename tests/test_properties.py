"""Properties that hold for ANY input: the parsers never crash, the normal forms are fixed points.

Hostile input is generated (hypothesis); the seeds of the mutations are the real feeds and the
real corpus URLs in ../shared/data. Each test keeps ``max_examples`` small: CI runs every test
in one budget, and most bugs these find show up in the first few dozen examples.
"""

from __future__ import annotations

import gzip
import itertools
from datetime import UTC, datetime

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from indexers.search.query import Filters, build_query, compile_node, parse_query
from producers.canonical import article_id, canonicalize
from producers.parse import NotAFeedError, ParsedFeed, parse_feed
from rasad.core.article import Source
from rasad.core.engine.client import QueryError
from stream.enrich.normalize import normalize, tokenize
from tests.conftest import SHARED_DATA

FEEDS = sorted((SHARED_DATA / "feeds").rglob("*.xml"))
# Three real documents of different shapes: RSS 2.0, Atom, and a scraper-made RSS with quirks.
SEED_FEEDS = [
    (SHARED_DATA / "feeds" / "nabdsharqi" / "feed.xml").read_bytes(),
    (SHARED_DATA / "feeds" / "nabdsharqi" / "atom.xml").read_bytes(),
    (SHARED_DATA / "feeds" / "prospect" / "hespress.xml").read_bytes(),
]
SOURCE = Source(id="fuzz", name="فحص", country="INT", kind="private")
FETCHED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _corpus_sample(n: int) -> tuple[list[str], list[str]]:
    """The first ``n`` real article URLs and titles of the corpus."""
    path = SHARED_DATA / "corpus" / "ant-multisource.jsonl.gz"
    with gzip.open(path, "rb") as handle:
        records = [orjson.loads(line) for line in itertools.islice(handle, n)]
    return [str(r["url"]) for r in records], [str(r["title"]) for r in records]


CORPUS_URLS, CORPUS_TITLES = _corpus_sample(300)

# Arabic letters, diacritics, tatweel, bidi controls, presentation forms, digits of three
# scripts and quote/dash variants: the characters the normalizer has rules for, plus anything.
ARABIC_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x0600, max_codepoint=0x06FF),
        st.characters(min_codepoint=0xFB50, max_codepoint=0xFEFF),
        st.sampled_from("\u200c\u200d\u200e\u200f\u061c\u202b\u2067\u00a0«»“”–— \n\t"),
        st.characters(),
    ),
    max_size=200,
)
FAST = settings(max_examples=150, deadline=None)
# Feed parsing is ~ms per document; fewer examples keep this file within a few seconds.
SLOWER = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse(body: bytes, charset: str | None = None) -> ParsedFeed | None:
    """The parser's contract: a ParsedFeed, or NotAFeedError; any other exception fails."""
    try:
        parsed = parse_feed(
            body, charset, source=SOURCE, feed_url="https://x.test/", fetched_at=FETCHED
        )
    except NotAFeedError:
        return None
    for article in parsed.articles:
        assert article.id == article_id(article.canonical_url)
        assert article.published_at.tzinfo is not None
    return parsed


# --- feed parser -------------------------------------------------------------------------------


@SLOWER
@given(
    body=st.binary(max_size=2000),
    charset=st.sampled_from([None, "utf-8", "windows-1256", "x-bogus"]),
)
@example(body=b"", charset=None)
@example(body=b"\xff\xfe\x00<\x00r\x00s\x00s", charset=None)
@example(
    body=b"<?xml version='1.0' encoding='ebcdic'?><rss><channel><item/></channel></rss>",
    charset=None,
)
def test_arbitrary_bytes_give_articles_or_not_a_feed(body: bytes, charset: str | None) -> None:
    _parse(body, charset)


@st.composite
def mutated_feed(draw: st.DrawFn) -> bytes:
    """A real feed, cut, spliced with garbage, or with bytes flipped."""
    data = bytearray(draw(st.sampled_from(SEED_FEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["truncate", "delete", "insert", "flip"]))
        if kind == "truncate":
            del data[at:]
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 500))]
        elif kind == "insert":
            junk = draw(
                st.one_of(
                    st.binary(max_size=50),
                    st.sampled_from([b"<", b"]]>", b"&", b"\x00", b"<![CDATA["]),
                )
            )
            data[at:at] = junk
        elif data:
            i = min(at, len(data) - 1)
            data[i] ^= draw(st.integers(1, 255))
    return bytes(data)


@SLOWER
@given(body=mutated_feed())
def test_mutated_real_feeds_never_crash_the_parser(body: bytes) -> None:
    _parse(body)


def test_every_real_feed_parses() -> None:
    for path in FEEDS:
        parsed = _parse(path.read_bytes())
        assert parsed is not None and parsed.articles, path


# --- URL canonicalizer -------------------------------------------------------------------------

URLS = st.one_of(
    st.sampled_from(CORPUS_URLS),
    st.text(max_size=120),
    st.builds(
        lambda scheme, host, path, query: f"{scheme}://{host}/{path}?{query}",
        st.sampled_from(["http", "https", "HTTP", "ftp", ""]),
        st.sampled_from(
            [
                "www.aljazeera.net",
                "m.bbc.com",
                "amp.cnn.com",
                "[::1]",
                "x.test:8080",
                "x.test:abc",
                "",
            ]
        ),
        st.text(max_size=40),
        st.text(max_size=40),
    ),
)


@FAST
@given(url=URLS)
def test_canonicalization_is_idempotent(url: str) -> None:
    once = canonicalize(url)
    assert canonicalize(once) == once


@FAST
@given(
    url=st.sampled_from(CORPUS_URLS),
    utm=st.text(alphabet="abcdefghij0123456789", min_size=1, max_size=8),
)
def test_ids_are_stable_across_spellings_of_one_link(url: str, utm: str) -> None:
    canonical = canonicalize(url)
    respelled = url.replace("https://", "http://", 1).replace("://", "://www.", 1)
    tracked = f"{respelled}{'&' if '?' in url else '?'}utm_source={utm}&fbclid={utm}"
    assert article_id(canonicalize(tracked)) == article_id(canonical)
    assert article_id(canonical) == article_id(canonicalize(canonical))
    assert len(article_id(canonical)) == 32


# --- Arabic normalizer -------------------------------------------------------------------------


@FAST
@given(text=st.one_of(ARABIC_TEXT, st.sampled_from(CORPUS_TITLES)))
def test_normalization_is_idempotent_and_total(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@FAST
@given(text=st.one_of(ARABIC_TEXT, st.sampled_from(CORPUS_TITLES)))
def test_token_offsets_point_into_the_original_text(text: str) -> None:
    for token in tokenize(text):
        assert text[token.start : token.end] == token.text
        assert token.norm == normalize(token.norm)


# --- query parser ------------------------------------------------------------------------------

QUERY_PIECES = st.sampled_from(
    [
        '"',
        "«",
        "»",
        "(",
        ")",
        "AND",
        "OR",
        "NOT",
        "و",
        "أو",
        "بدون",
        "-",
        "-x",
        "&&",
        "||",
        "!",
        " ",
    ]
)
QUERIES = st.one_of(
    st.text(max_size=120),
    st.lists(
        st.one_of(QUERY_PIECES, st.sampled_from(CORPUS_TITLES[:50]), st.text(max_size=8)),
        max_size=30,
    ).map(" ".join),
    st.text(min_size=990, max_size=1100),
)


@FAST
@given(query=QUERIES)
@example(query="(" * 500)
@example(query="NOT " * 300)
@example(query=" OR ".join(["x"] * 100))
def test_any_string_is_a_query_or_a_query_error(query: str) -> None:
    try:
        node = parse_query(query)
    except QueryError as exc:
        assert str(exc)
        return
    body = build_query(query, Filters(), NOW)
    orjson.dumps(body)  # the engine receives exactly this: it must serialise
    if node is not None:
        assert compile_node(node) in body["bool"]["must"]
