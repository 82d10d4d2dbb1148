"""Search and single articles: thin routes over the search layer (:mod:`indexers.search`).

Query parsing, Arabic normalization, filters, facets and pagination all live in the search
layer; these routes only translate HTTP parameters in and hits out (highlights as text
segments, see :mod:`rasad.web.highlight`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Response, status

from indexers.search import searcher as search_layer
from indexers.search.query import MAX_QUERY_CHARS, Filters
from rasad.web.deps import EngineDep, Reader, ServicesDep
from rasad.web.highlight import highlight_segments
from rasad.web.problems import NOT_FOUND

router = APIRouter(prefix="/api", tags=["search"])

# One page of results: what a person scans before refining; the bench uses the same size.
PAGE_SIZE = 20
# Siblings shown under an article: a story rarely has more outlets than this.
SIBLINGS = 20
# Fields a result card needs; bodies stay on the server until an article is opened.
CARD_FIELDS = (
    "id",
    "title",
    "summary",
    "url",
    "source",
    "published_at",
    "topics",
    "cluster_id",
    "language",
)


def _card(doc: dict[str, Any], highlights: dict[str, list[str]] | None = None) -> dict[str, Any]:
    card = {name: doc.get(name) for name in CARD_FIELDS}
    card["highlights"] = highlight_segments(highlights or {})
    return card


def _facets(facets: dict[str, list[search_layer.Bucket]]) -> dict[str, Any]:
    def rows(name: str) -> list[dict[str, Any]]:
        return [{"key": b.key, "count": b.count} for b in facets.get(name, [])]

    return {
        "topics": rows("topics"),
        "sources": rows("sources"),
        "countries": rows("countries"),
        "entities": {etype: rows(f"entity_{etype.lower()}") for etype in ("PER", "ORG", "LOC")},
        "histogram": rows("published"),
    }


@router.get(
    "/search",
    summary="Search articles with filters, facets, highlights and a cursor",
    response_class=Response,
    responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}},
)
async def search(
    engine: EngineDep,
    svc: ServicesDep,
    _: Reader,
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS, description='AND/OR/NOT, "phrases"')] = "",
    topic: Annotated[list[str] | None, Query()] = None,
    entity: Annotated[list[str] | None, Query(description="Entity name or id")] = None,
    source: Annotated[list[str] | None, Query()] = None,
    country: Annotated[list[str] | None, Query()] = None,
    language: Annotated[list[str] | None, Query()] = None,
    min_topic_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    since: Annotated[str, Query(description="24h, 7d…; empty = any time")] = "",
    date_from: Annotated[datetime | None, Query(description="ISO date-time with zone")] = None,
    date_to: Annotated[datetime | None, Query(description="ISO date-time with zone")] = None,
    sort: search_layer.SortOrder = "relevance",
    size: Annotated[int, Query(ge=1, le=search_layer.MAX_PAGE_SIZE)] = PAGE_SIZE,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> Response:
    filters = Filters(
        topics=tuple(topic or ()),
        min_topic_score=min_topic_score,
        entities=tuple(entity or ()),
        sources=tuple(source or ()),
        countries=tuple(country or ()),
        languages=tuple(language or ()),
        since=since or None,
        date_from=date_from,
        date_to=date_to,
    )
    request = search_layer.SearchRequest(
        query=q, filters=filters, sort=sort, size=size, cursor=cursor or None, fields=CARD_FIELDS
    )
    result = await search_layer.search(engine, svc.settings, request)
    answer = {
        "total": result.total,
        # "eq" exact, "gte" at least: totals are exact up to TOTAL_EXACT_UP_TO.
        "total_relation": "eq" if result.total_exact else "gte",
        # Articles the facets were counted over: the best hits, up to FACET_SAMPLE per shard.
        "facet_sample": result.facet_sample,
        "took_ms": result.took_ms,
        "hits": [_card(h.document, h.highlights) for h in result.hits],
        "facets": _facets(result.facets),
        "next_cursor": result.next_cursor,
    }
    # Serialised by orjson straight from the engine's plain values: validating this free-form
    # dict against a response model and re-encoding it cost more than the route's own work.
    return Response(orjson.dumps(answer), media_type="application/json")


@router.get(
    "/articles/{article_id}",
    summary="One article with entities, tags and siblings",
    responses=NOT_FOUND,
)
async def article(
    article_id: str, engine: EngineDep, svc: ServicesDep, _: Reader
) -> dict[str, Any]:
    doc = await search_layer.get_article(engine, svc.settings, article_id)
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no article with id {article_id!r}")
    siblings: list[dict[str, Any]] = []
    if doc.get("cluster_id"):
        story = await search_layer.same_story(engine, svc.settings, doc["cluster_id"], SIBLINGS)
        siblings = [_card(h.document) for h in story if h.id != article_id]
    return {**doc, "siblings": siblings}
