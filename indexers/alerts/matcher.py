"""Alert matching: percolate a batch of enriched articles against every enabled alert."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from indexers.alerts.model import AlertHit, hit_key
from indexers.alerts.percolate import percolate_batch
from indexers.index.documents import to_document
from rasad.core import backoff
from rasad.core.article import EnrichedArticle
from rasad.core.engine.client import (
    Engine,
    EngineRejected,
    EngineUnavailable,
    wait_for_engine,
)
from rasad.core.logs import get_logger
from rasad.core.settings import Settings

log = get_logger(__name__)

# Fields of the stored alert the percolator returns with a match (never the secret).
MATCH_SOURCE = ["alert.id", "alert.name", "alert.owner", "alert.mode"]


async def percolate(
    engine: Engine,
    settings: Settings,
    articles: Sequence[EnrichedArticle],
    now: datetime | None = None,
    reprocess: bool = False,
) -> list[AlertHit]:
    """Every (enabled alert, article) match of a batch, in one percolate request per page;
    ``reprocess``: reprocessed articles, matched only by alerts that opted in to a digest."""
    matched_at = now or datetime.now(UTC)
    documents = [to_document(a, matched_at) for a in articles]
    matches = await percolate_batch(
        engine,
        settings.alerts_index,
        documents,
        field="query",
        sort_field="alert.id",
        filters=[{"term": {"alert.enabled": True}}]
        + ([{"term": {"alert.reprocess_digest": True}}] if reprocess else []),
        source=MATCH_SOURCE,
    )
    hits: list[AlertHit] = []
    for match in matches:
        alert = match.source["alert"]
        for slot in match.slots:
            article = articles[slot]
            hits.append(
                AlertHit(
                    key=hit_key(alert["id"], alert["mode"], article),
                    alert_id=alert["id"],
                    alert_name=alert["name"],
                    owner=alert["owner"],
                    mode=alert["mode"],
                    article_id=article.id,
                    cluster_id=article.cluster.id if article.cluster else None,
                    title=article.title,
                    url=article.url,
                    source_id=article.source.id,
                    source_name=article.source.name,
                    published_at=article.published_at,
                    matched_at=matched_at,
                    reprocess=reprocess,
                )
            )
    return hits


_ENABLED_ALERTS = {"query": {"term": {"alert.enabled": True}}}


class AlertMatcher:
    """What the alert matching calls per batch: percolate enriched articles, return hits.

    Connects to the engine on first use. The worker's indexer, which decodes each message once
    and dead-letters the undecodable ones, hands over its articles with ``match_articles``.
    """

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self._settings = settings
        self._engine = engine
        self._owns_engine = engine is None
        self._backoff_s = (settings.alert_backoff_initial_s, settings.alert_backoff_max_s)

    async def match_articles(
        self, articles: Sequence[EnrichedArticle], reprocess: bool = False
    ) -> list[AlertHit]:
        """The hits of a batch of articles; waits out an unreachable engine (retrying with
        backoff, nothing skipped), so an outage delays alerts and never crashes the caller."""
        if not articles:
            return []
        waits = backoff.delays(*self._backoff_s)
        while True:
            try:
                if self._engine is None:
                    self._engine = await wait_for_engine(
                        self._settings, *self._backoff_s, waiting="alert matching"
                    )
                if not await self._any_enabled():
                    return []
                return await percolate(self._engine, self._settings, articles, reprocess=reprocess)
            except EngineUnavailable as exc:
                delay = next(waits)
                log.warning("alert matching waits for the engine", error=str(exc), retry_in_s=delay)
                await asyncio.sleep(delay)

    async def _any_enabled(self) -> bool:
        """Is any alert enabled? Asked per batch, never cached, so an alert matches from the
        moment it is stored. Percolating builds an in-memory index of every document even when
        no query is stored (profiled: ~1 ms of engine CPU per document, more than indexing it),
        and the worker's indexer waits for its batch's matching, so that cost held it back."""
        assert self._engine is not None
        try:
            return await self._engine.count(self._settings.alerts_index, _ENABLED_ALERTS) > 0
        except EngineRejected as exc:
            if exc.status == 404:  # no alerts index yet: no alerts
                return False
            raise

    async def close(self) -> None:
        if self._owns_engine and self._engine is not None:
            await self._engine.close()
