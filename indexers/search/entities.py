"""One entity's page: its mentions over time, the entities mentioned with it, the sources and
topics that cover it, and its recent articles, from one engine request.

Entities are addressed by the id enrichment gives them (:class:`rasad.core.article.Entity`):
a gazetteer id, or one derived from the normalised name. The stored ``entities`` list is not
indexed (only its ids and names are, in ``entity_ids`` and ``entity_per``…), so names and
types are read from the articles' sources: the entity's own from its newest article, a
co-mentioned one's from one article that mentions both.
"""

from __future__ import annotations

from typing import Any

from rasad.core.engine.client import Engine

# Bars on the mentions chart: readable across a page, enough for a year by week.
TIMELINE_BUCKETS = 60
# Co-mentioned entities, sources and topics listed: a screen's worth each.
RELATED = 12
RECENT = 10
CARD_FIELDS = ["id", "title", "summary", "url", "source", "published_at", "topics", "cluster_id"]


def entity_body(entity_id: str) -> dict[str, Any]:
    """The engine request behind an entity page (pure)."""
    return {
        "query": {"bool": {"filter": [{"term": {"entity_ids": entity_id}}]}},
        "size": RECENT,
        "sort": [{"published_at": "desc"}, {"id": "asc"}],
        "_source": {"includes": [*CARD_FIELDS, "entities"]},
        "track_total_hits": True,
        "aggs": {
            # A fixed number of bars whatever the span: one entity's years or its hours.
            "timeline": {
                "auto_date_histogram": {"field": "published_at", "buckets": TIMELINE_BUCKETS}
            },
            "with": {
                # +1: the entity itself is always its own most frequent companion.
                "terms": {"field": "entity_ids", "size": RELATED + 1},
                "aggs": {"named": {"top_hits": {"size": 1, "_source": ["entities"]}}},
            },
            "sources": {
                "terms": {"field": "source.id", "size": RELATED},
                "aggs": {"name": {"terms": {"field": "source.name", "size": 1}}},
            },
            "topics": {
                "nested": {"path": "topics"},
                "aggs": {
                    "tags": {
                        "terms": {"field": "topics.tag", "size": RELATED},
                        "aggs": {"articles": {"reverse_nested": {}}},
                    }
                },
            },
        },
    }


def _described(entity_id: str, sources: list[dict[str, Any]]) -> dict[str, Any] | None:
    for source in sources:
        for entity in source.get("entities") or []:
            if entity.get("id") == entity_id:
                return {k: entity.get(k) for k in ("id", "type", "name", "name_en")}
    return None


def _related(entity_id: str, buckets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for bucket in buckets:
        if bucket["key"] == entity_id:
            continue
        found = [h["_source"] for h in bucket["named"]["hits"]["hits"]]
        described = _described(str(bucket["key"]), found) or {"id": bucket["key"]}
        rows.append({**described, "count": bucket["doc_count"]})
    return rows[:RELATED]


async def resolve(engine: Engine, index: str, key: str) -> str | None:
    """The id of the entity ``key`` names: ``key`` itself when articles carry it as an id,
    else the id of the entity named exactly so (facets and dashboards show names) in the
    newest article that names it; None when neither is found."""
    if await engine.count(index, {"query": {"term": {"entity_ids": key}}}):
        return key
    answer = await engine.search(
        index,
        {
            "query": {"term": {"entity_names": key}},
            "size": 1,
            "sort": [{"published_at": "desc"}],
            "_source": ["entities"],
        },
    )
    for hit in answer["hits"]["hits"]:
        for entity in hit["_source"].get("entities") or []:
            if entity.get("name") == key:
                return str(entity["id"])
    return None


async def entity_page(engine: Engine, index: str, key: str) -> dict[str, Any] | None:
    """Everything the entity page shows for an entity id (or exact name, see
    :func:`resolve`), or None when no article mentions it."""
    entity_id = await resolve(engine, index, key)
    if entity_id is None:
        return None
    answer = await engine.search(index, entity_body(entity_id))
    hits = [h["_source"] for h in answer["hits"]["hits"]]
    entity = _described(entity_id, hits)
    if entity is None:
        return None
    aggs = answer["aggregations"]
    timeline = aggs["timeline"]
    return {
        **entity,
        "articles": answer["hits"]["total"]["value"],
        "interval": timeline.get("interval"),
        "timeline": [[b["key_as_string"], b["doc_count"]] for b in timeline["buckets"]],
        "co_mentioned": _related(entity_id, aggs["with"]["buckets"]),
        "sources": [
            {
                "key": b["key"],
                "name": b["name"]["buckets"][0]["key"] if b["name"]["buckets"] else b["key"],
                "count": b["doc_count"],
            }
            for b in aggs["sources"]["buckets"]
        ],
        "topics": [
            {"key": b["key"], "count": b["articles"]["doc_count"]}
            for b in aggs["topics"]["tags"]["buckets"]
        ],
        "recent": [{k: v for k, v in h.items() if k != "entities"} for h in hits],
    }
