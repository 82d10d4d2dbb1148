"""What alerts did and would do: hit counts and history, and backtests over stored articles."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from indexers.alerts.model import AlertQueryError, AlertRefused, AlertSpec
from indexers.alerts.store import LIST_SIZE, percolator_query
from indexers.search.searcher import SearchRequest, search
from rasad.core.engine.client import (
    Engine,
    EngineRejected,
    QueryError,
)
from rasad.core.settings import Settings

# Hit-history fields shown by recent_hits (the ledger's bookkeeping stays inside).
HIT_FIELDS = [
    "key", "alert_id", "alert_name", "article_id", "cluster_id", "title", "url", "source_id",
    "source_name", "published_at", "matched_at", "status", "delivered_at", "attempts", "error",
]  # fmt: skip


async def hit_counts(engine: Engine, settings: Settings) -> dict[str, int]:
    """Matches recorded per alert id (digest records excluded)."""
    body = {
        "size": 0,
        "query": {"term": {"kind": "hit"}},
        "aggs": {"alerts": {"terms": {"field": "alert_id", "size": LIST_SIZE}}},
    }
    try:
        raw = await engine.search(settings.alert_hits_index, body)
    except EngineRejected as exc:
        if exc.status == 404:
            return {}
        raise
    buckets = raw.get("aggregations", {}).get("alerts", {}).get("buckets", [])
    return {str(b["key"]): int(b["doc_count"]) for b in buckets}


async def backtest(
    engine: Engine,
    settings: Settings,
    spec: AlertSpec,
    since: timedelta | None,
    size: int = 20,
    now: datetime | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Run the alert as a search over stored articles: (matches in the period, newest first)."""
    percolator_query(spec)  # the same clear error as at creation for a bad query
    moment = now or datetime.now(UTC)
    filters = spec.filters()
    if since is not None:
        filters = replace(filters, date_from=moment - since)
    request = SearchRequest(
        query=spec.query, filters=filters, sort="newest", size=size, facets=False
    )
    try:
        result = await search(engine, settings, request, moment)
    except QueryError as exc:
        raise AlertQueryError(str(exc)) from None
    except EngineRejected as exc:
        if exc.status == 404:
            raise AlertRefused(
                f"no stored articles to test against ({settings.articles_read_alias} does not "
                "exist): run `rasad setup` and index articles first"
            ) from None
        raise
    shown = ("title", "url", "source", "published_at", "cluster_id")
    hits = [
        {"id": h.id, **{k: h.document.get(k) for k in shown}, "highlights": h.highlights}
        for h in result.hits
    ]
    return result.total, hits


async def recent_hits(
    engine: Engine, settings: Settings, alert_id: str | None = None, size: int = 50
) -> list[dict[str, Any]]:
    """The hit history, newest first (every match, whatever became of its delivery)."""
    filters: list[dict[str, Any]] = [{"term": {"kind": "hit"}}]
    if alert_id:
        filters.append({"term": {"alert_id": alert_id}})
    body = {
        "query": {"bool": {"filter": filters}},
        "sort": [{"matched_at": "desc"}],
        "size": size,
        "_source": HIT_FIELDS,
    }
    try:
        raw = await engine.search(settings.alert_hits_index, body)
    except EngineRejected as exc:
        if exc.status == 404:
            return []
        raise
    return [dict(h["_source"]) for h in raw["hits"]["hits"]]
