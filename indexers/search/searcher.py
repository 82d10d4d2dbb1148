"""The search layer shared by the CLI and the HTTP API: one request type in, one result type out.

Sorting by relevance or time, highlights, facets, deep pagination with ``search_after`` behind an
opaque cursor, "same story" (one cluster's articles) and index statistics. Every way a request
can be wrong surfaces as a ``QueryError`` (:mod:`rasad.core.engine.errors`) with a message an
analyst can act on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson

from indexers.search.query import (
    Filters,
    Phrase,
    Term,
    build_query,
    node_kinds,
    parse_query,
    parse_since,
)
from rasad.core.engine.client import Engine, EngineRejected, QueryError, error_from_status
from rasad.core.settings import Settings

SortOrder = Literal["relevance", "newest", "oldest"]
# Tie-breaking on the article id makes the order total, which search_after needs.
SORTS: dict[str, list[dict[str, str]]] = {
    "relevance": [{"_score": "desc"}, {"published_at": "desc"}, {"id": "asc"}],
    "newest": [{"published_at": "desc"}, {"id": "asc"}],
    "oldest": [{"published_at": "asc"}, {"id": "asc"}],
}
# A page is for reading; deeper browsing pages with the cursor.
MAX_PAGE_SIZE = 100
# Facet lengths: enough to scan at a glance on a dashboard, cheap to compute.
FACET_SIZE = 10
# The body is the bulk of an article's bytes; hits carry the summary and highlights instead.
HIT_SOURCE_EXCLUDES = ["body"]
HIGHLIGHT_FIELDS = ("title", "summary", "body")
# Facets are counted over a bounded sample: the FACET_SAMPLE best-scoring hits of each shard
# (the engine's sampler aggregation). Terms facets over every hit cost the engine ~57 ms of CPU
# per search on 126K articles and grow with the index; over the best 2,000 they cost the same
# on a year, and the best hits are what an analyst reads. Without words (filters only) the
# newest hits score best (see RECENCY_PIVOT), so the sample is the newest FACET_SAMPLE. The
# date histogram stays exact, over every hit: a chart must not invent or drop counts.
FACET_SAMPLE = 2000
# A search without words has no relevance: its hits score by recency instead (a distance
# feature on published_at, half the score at this age), so "relevance" lists the newest first
# and the facet sample is the newest articles, not the first ones in index order.
RECENCY_PIVOT = "7d"
# Totals are exact up to this bound, then "at least" (relation "gte"): counting every hit of a
# broad query on a year costs more than the page, and no analyst reads past 100,000 articles.
TOTAL_EXACT_UP_TO = 100_000
# Identical searches within this step send identical engine requests, so the engine's shard
# request cache answers repeated facet and count requests; a "since" bound moves by at most it.
NOW_STEP = timedelta(minutes=1)


@dataclass(frozen=True)
class SearchRequest:
    query: str = ""
    filters: Filters = field(default_factory=Filters)
    sort: SortOrder = "relevance"
    size: int = 20
    cursor: str | None = None
    facets: bool = True
    highlight: bool = True
    # The stored fields each hit carries; empty = all but the body. A result list that shows a
    # few fields asks for just those: a smaller answer to send, parse and serialize.
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    id: str
    score: float | None
    document: dict[str, Any]
    # Field -> fragments, HTML-escaped by the engine with <mark> around matches: safe to render.
    highlights: dict[str, list[str]]


@dataclass(frozen=True)
class Bucket:
    key: str
    count: int


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, list[Bucket]]
    next_cursor: str | None
    took_ms: int
    # False when total is the TOTAL_EXACT_UP_TO bound and more articles match.
    total_exact: bool = True
    # Articles the facets were counted over (the sample), 0 when there are no facets.
    facet_sample: int = 0


def _fingerprint(request: SearchRequest) -> str:
    # A cursor is only valid for the query and sort it came from.
    key = orjson.dumps([request.query, repr(request.filters), request.sort])
    return hashlib.sha256(key).hexdigest()[:12]


def encode_cursor(request: SearchRequest, sort_values: list[Any]) -> str:
    raw = orjson.dumps({"q": _fingerprint(request), "after": sort_values})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(request: SearchRequest, cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
        after = data["after"]
        fingerprint = data["q"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise QueryError("the page cursor is damaged: start again from the first page") from exc
    if fingerprint != _fingerprint(request) or not isinstance(after, list):
        raise QueryError("the page cursor belongs to another query: start from the first page")
    # The fingerprint only ties a cursor to its query; anyone can compute it, so the values
    # are checked too: one plain number or string per sort key, as the engine gave them.
    if len(after) != len(SORTS[request.sort]) or not all(_sort_value(v) for v in after):
        raise QueryError("the page cursor is damaged: start again from the first page")
    return after


def _sort_value(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _aggregations(interval: str) -> dict[str, Any]:
    """Terms facets inside a sampler over the best hits; the histogram over every hit."""
    terms = {
        "sources": "source.id",
        "countries": "source.country",
        "entity_per": "entity_per",
        "entity_org": "entity_org",
        "entity_loc": "entity_loc",
    }
    aggs: dict[str, Any] = {name: _terms(path) for name, path in terms.items()}
    aggs["topics"] = {"nested": {"path": "topics"}, "aggs": {"tags": _terms("topics.tag")}}
    return {
        "sample": {"sampler": {"shard_size": FACET_SAMPLE}, "aggs": aggs},
        "published": {"date_histogram": {"field": "published_at", "calendar_interval": interval}},
    }


def _terms(path: str) -> dict[str, Any]:
    return {"terms": {"field": path, "size": FACET_SIZE}}


def search_query(request: SearchRequest, now: datetime) -> dict[str, Any]:
    """The engine query of a search: the analyst's query and filters, scored by recency when
    it has no words (the same for the page and the summary, so both see the same order)."""
    query = build_query(request.query, request.filters, now)
    if parse_query(request.query) is not None:
        return query
    recency = {"field": "published_at", "origin": now.isoformat(), "pivot": RECENCY_PIVOT}
    return {"bool": {"must": [query], "should": [{"distance_feature": recency}]}}


def histogram_interval(filters: Filters, now: datetime) -> str:
    """Hours for a day or two, days up to a quarter, else weeks: a readable number of bars.

    (A fixed interval is several times cheaper than ``auto_date_histogram``.)
    """
    start = parse_since(filters.since, now) if filters.since else filters.date_from
    if start is None:
        return "week"
    span = (filters.date_to or now) - start
    if span <= timedelta(days=2):
        return "hour"
    return "day" if span <= timedelta(days=92) else "week"


def _highlight(query: str) -> dict[str, Any] | None:
    """Highlight only the fields the query can match: bare words match the analysed fields,
    quoted phrases the ``exact`` ones (the highlighter requires a field match either way, so
    the other family would only cost time). None when there is nothing to highlight."""
    kinds = node_kinds(parse_query(query))
    suffixes = [s for s, kind in (("", Term), (".exact", Phrase)) if kind in kinds]
    if not suffixes:
        return None
    fields: dict[str, Any] = {}
    for name in HIGHLIGHT_FIELDS:
        # Titles whole; summary and body as short fragments around the matches.
        spec = {"number_of_fragments": 0} if name == "title" else {"fragment_size": 160}
        for suffix in suffixes:
            fields[f"{name}{suffix}"] = spec
    return {
        "fields": fields,
        "pre_tags": ["<mark>"],
        "post_tags": ["</mark>"],
        # Feed text may carry markup; escaping it leaves our <mark> the only tags in a fragment.
        "encoder": "html",
        "number_of_fragments": 2,
    }


def hits_body(request: SearchRequest, now: datetime) -> dict[str, Any]:
    """The engine request for one page of hits (pure; exposed for tests).

    It counts nothing (``track_total_hits: false``), so the engine may skip documents that
    cannot reach the page; the total comes from :func:`summary_body`.
    """
    if not 1 <= request.size <= MAX_PAGE_SIZE:
        raise QueryError(f"page size must be between 1 and {MAX_PAGE_SIZE}")
    body: dict[str, Any] = {
        "query": search_query(request, now),
        "sort": SORTS[request.sort],
        "size": request.size,
        "track_total_hits": False,
        "_source": {"includes": list(request.fields)}
        if request.fields
        else {"excludes": HIT_SOURCE_EXCLUDES},
    }
    if request.sort == "relevance":
        body["track_scores"] = True
    if request.cursor:
        body["search_after"] = decode_cursor(request, request.cursor)
    highlight = _highlight(request.query) if request.highlight else None
    if highlight:
        body["highlight"] = highlight
    return body


def summary_body(request: SearchRequest, now: datetime) -> dict[str, Any]:
    """The engine request for the total (exact up to TOTAL_EXACT_UP_TO) and, on a first page
    only, the facets (pure).

    ``size: 0`` and no clock inside (``now`` is rounded to NOW_STEP) make it cacheable in the
    engine's shard request cache, per query and time bucket: the same search asked again within
    the minute (another analyst, the back button) is answered from memory by every index that
    has not changed since; a refresh that added articles to an index invalidates its entry, so
    the past years' indices keep answering from the cache while today's is being written.
    """
    body: dict[str, Any] = {
        "query": search_query(request, now),
        "size": 0,
        "track_total_hits": TOTAL_EXACT_UP_TO,
    }
    if request.facets and not request.cursor:
        body["aggs"] = _aggregations(histogram_interval(request.filters, now))
    return body


def search_now(now: datetime) -> datetime:
    """``now`` rounded down to NOW_STEP: the clock a search's relative dates are built on."""
    step = int(NOW_STEP.total_seconds())
    return datetime.fromtimestamp(int(now.timestamp()) // step * step, UTC)


def _facets(aggs: dict[str, Any]) -> dict[str, list[Bucket]]:
    facets: dict[str, list[Bucket]] = {}
    flat = {k: v for k, v in aggs.items() if k != "sample"}
    flat.update({k: v for k, v in aggs.get("sample", {}).items() if k != "doc_count"})
    for name, agg in flat.items():
        if name == "topics":
            agg = agg["tags"]
        facets[name] = [
            Bucket(str(b.get("key_as_string", b["key"])), int(b["doc_count"]))
            for b in agg["buckets"]
        ]
    return facets


def _hit(raw: dict[str, Any]) -> Hit:
    found = raw.get("highlight", {})
    highlights: dict[str, list[str]] = {}
    for name in HIGHLIGHT_FIELDS:
        fragments = found.get(name) or found.get(f"{name}.exact")
        if fragments:
            highlights[name] = fragments
    return Hit(str(raw["_id"]), raw.get("_score"), raw["_source"], highlights)


async def _msearch(
    engine: Engine, index: str, hits: dict[str, Any], summary: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both requests in one ``_msearch``: one HTTP exchange, run side by side in the engine.

    A request the engine cannot parse fails the whole exchange, one it cannot run fails its
    own item; either way a 400 is the analyst's query (QueryError), anything else the engine's.
    """
    lines = [{"index": index}, hits, {"index": index, "request_cache": True}, summary]
    payload = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    try:
        answer = await engine.request("POST", "/_msearch", body=payload, ndjson=True)
        found: list[dict[str, Any]] = answer["responses"]
        for item in found:
            if "error" in item:
                raise error_from_status(int(item.get("status", 500)), item)
    except EngineRejected as exc:
        if exc.status == 400:
            raise QueryError(f"the engine could not run this query: {exc.reason}") from exc
        raise
    return found[0], found[1]


async def search(
    engine: Engine, settings: Settings, request: SearchRequest, now: datetime | None = None
) -> SearchResult:
    """One page of hits, the exact total and (first page) the facets.

    The page (which counts nothing) and the cacheable summary are two requests of one
    ``_msearch``; a refresh landing between them can make the total differ from the page by
    the articles it added, as any near-real-time search may.
    """
    moment = search_now(now or datetime.now(UTC))
    raw, summary = await _msearch(
        engine,
        settings.articles_read_alias,
        hits_body(request, moment),
        summary_body(request, moment),
    )
    hits = [_hit(h) for h in raw["hits"]["hits"]]
    cursor = None
    if len(hits) == request.size:
        cursor = encode_cursor(request, raw["hits"]["hits"][-1]["sort"])
    aggs = summary.get("aggregations", {})
    return SearchResult(
        total=int(summary["hits"]["total"]["value"]),
        hits=hits,
        facets=_facets(aggs),
        next_cursor=cursor,
        took_ms=max(int(raw.get("took", 0)), int(summary.get("took", 0))),
        total_exact=summary["hits"]["total"].get("relation", "eq") == "eq",
        facet_sample=int(aggs.get("sample", {}).get("doc_count", 0)),
    )


async def same_story(
    engine: Engine, settings: Settings, cluster_id: str, size: int = MAX_PAGE_SIZE
) -> list[Hit]:
    """The articles of one same-story cluster, first published first."""
    request = SearchRequest(
        filters=Filters(cluster_id=cluster_id), sort="oldest", size=size, facets=False
    )
    return (await search(engine, settings, request)).hits


async def get_article(engine: Engine, settings: Settings, article_id: str) -> dict[str, Any] | None:
    """One article with every stored field (body included), or None."""
    raw = await engine.search(
        settings.articles_read_alias, {"query": {"term": {"id": article_id}}, "size": 1}
    )
    hits = raw["hits"]["hits"]
    return dict(hits[0]["_source"]) if hits else None


@dataclass(frozen=True)
class IndexStats:
    total: int
    indices: dict[str, int]
    newest_published_at: str | None
    newest_indexed_at: str | None


async def index_stats(engine: Engine, settings: Settings) -> IndexStats:
    """Counts per index and freshness (the newest article published and indexed).

    Counts come from an aggregation on ``_index``, not from ``_cat/indices``, which also counts
    the hidden per-topic documents of the nested ``topics`` field.
    """
    alias = settings.articles_read_alias
    indices = dict.fromkeys(await engine.get_alias(alias), 0)
    raw = await engine.search(
        alias,
        {
            "size": 0,
            "track_total_hits": True,
            "aggs": {
                # Ten thousand yearly (or v1 monthly) indices would be centuries of news.
                "indices": {"terms": {"field": "_index", "size": 10_000}},
                "published": {"max": {"field": "published_at"}},
                "indexed": {"max": {"field": "indexed_at"}},
            },
        },
    )
    aggs = raw.get("aggregations", {})
    for bucket in aggs.get("indices", {}).get("buckets", []):
        indices[str(bucket["key"])] = int(bucket["doc_count"])
    return IndexStats(
        total=int(raw["hits"]["total"]["value"]),
        indices=dict(sorted(indices.items())),
        newest_published_at=aggs.get("published", {}).get("value_as_string"),
        newest_indexed_at=aggs.get("indexed", {}).get("value_as_string"),
    )
