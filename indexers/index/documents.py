"""EnrichedArticle -> engine document: a pure function, the only place that knows the mapping's
field names for writing. The matching mapping is :func:`indexers.index.templates.article_mappings`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rasad.core.article import Article, Cluster, EnrichedArticle, Source, TopicTag
from rasad.core.reprocess import EntityRef, Previous, ReprocessRequest

ENTITY_FIELDS = {"PER": "entity_per", "ORG": "entity_org", "LOC": "entity_loc"}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def to_document(article: EnrichedArticle, indexed_at: datetime) -> dict[str, Any]:
    """The indexed form of an article.

    Entities are indexed three ways: names per type (``entity_per`` …, for facets and filters),
    all ids (``entity_ids``) and all names (``entity_names``); names are kept as written for
    display and folded by the engine in a ``norm`` sub-field (``rasad_keyword`` normaliser), so
    filter values and stored names fold alike. Topic tags are ``nested`` (tag, score) pairs, so
    "tag X with score >= s" is one query; parallel arrays could not tie a score to its tag.
    """
    by_type: dict[str, list[str]] = {field: [] for field in ENTITY_FIELDS.values()}
    for entity in article.entities:
        by_type[ENTITY_FIELDS[entity.type]].append(entity.name)
    doc: dict[str, Any] = {
        "id": article.id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "title": article.title,
        "summary": article.summary,
        "body": article.body,
        "body_kind": article.body_kind,
        "source": article.source.model_dump(),
        "feed_url": article.feed_url,
        "language": article.lang.code,
        "script": article.lang.script,
        "feed_language": article.language,
        "authors": article.authors,
        "categories": article.categories,
        "image_url": article.image_url,
        "content_hash": article.content_hash,
        "version": article.version,
        "published_at": _iso(article.published_at),
        "date_flag": article.date_flag,
        "fetched_at": _iso(article.fetched_at),
        "enriched_at": _iso(article.enriched_at),
        "indexed_at": _iso(indexed_at),
        **by_type,
        "entity_ids": [e.id for e in article.entities],
        "entity_names": [e.name for e in article.entities],
        "entities": [
            {
                "type": e.type,
                "id": e.id,
                "name": e.name,
                "name_en": e.name_en,
                "count": e.count,
                "salience": e.salience,
            }
            for e in article.entities
        ],
        "topics": [{"tag": t.tag, "score": t.score} for t in article.topics],
        "topic_evidence": [t.model_dump(mode="json") for t in article.topics],
        "enrichment": article.enrichment.model_dump() if article.enrichment else None,
        "cluster_first_seen": _iso(article.cluster.first_seen) if article.cluster else None,
        "cluster_id": article.cluster.id if article.cluster else None,
        "exact_duplicate": article.cluster.exact_duplicate if article.cluster else False,
    }
    return doc


def article_index(generation: str, published_at: datetime) -> str:
    """The index of one article in a mapping generation (``rasad-articles-v2`` -> ``…-v2-2018``).

    It depends only on the article's UTC publication date, so a replay or a new version always
    lands where the old one is. Generation 1 had one index per month; from generation 2 an index
    holds a year. Monthly indices of a news stream hold ~100k small documents each, far below
    the engines' advised 10-50 GB per shard, and every search pays a fixed cost per shard: on the
    corpus (9 busy months plus 16 months of a few stray old articles) a search visited 26
    indices, and one index costs the engine half the CPU per search (bench/bench_web.py).
    Bigger newsrooms scale a year's index by ``index_shards``.
    """
    version = int(generation.rsplit("-v", 1)[1])
    stamp = "%Y.%m" if version == 1 else "%Y"
    return f"{generation}-{published_at.astimezone(UTC).strftime(stamp)}"


def request_of(run: str, doc: dict[str, Any]) -> ReprocessRequest:
    """The reprocess request of a stored document: the inverse of :func:`to_document` for the
    raw article (title, summary and body are stored whole, so the text to re-enrich is the
    engine document's), with the cluster and the enrichment it had."""
    article = Article(
        id=doc["id"],
        url=doc["url"],
        canonical_url=doc["canonical_url"],
        title=doc["title"],
        summary=doc.get("summary") or "",
        body=doc.get("body") or "",
        body_kind=doc.get("body_kind") or "summary",
        published_at=doc["published_at"],
        date_flag=doc.get("date_flag") or "ok",
        fetched_at=doc["fetched_at"],
        source=Source.model_validate(doc["source"]),
        feed_url=doc["feed_url"],
        language=doc.get("feed_language"),
        authors=doc.get("authors") or [],
        categories=doc.get("categories") or [],
        image_url=doc.get("image_url"),
        content_hash=doc["content_hash"],
        version=doc["version"],
    )
    cluster = None
    if doc.get("cluster_id"):
        cluster = Cluster(
            id=doc["cluster_id"],
            first_id=doc["cluster_id"],
            # Documents indexed before cluster_first_seen was stored: their enrichment time.
            first_seen=doc.get("cluster_first_seen") or doc["enriched_at"],
            exact_duplicate=bool(doc.get("exact_duplicate")),
        )
    # Documents indexed before topic_evidence was stored have the tags without evidence.
    topics = doc.get("topic_evidence") or [
        {"tag": t["tag"], "score": t["score"], "evidence": []} for t in doc.get("topics") or []
    ]
    previous = Previous(
        enrichment_id=(doc.get("enrichment") or {}).get("id"),
        topics=[TopicTag.model_validate(t) for t in topics],
        entities=[
            EntityRef(type=e["type"], id=e["id"], name=e["name"]) for e in doc.get("entities") or []
        ],
    )
    return ReprocessRequest(run=run, article=article, cluster=cluster, previous=previous)
