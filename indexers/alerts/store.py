"""Keyword alerts: storage as percolator queries, matching, backtests, hit history.

The service API (used by the CLI, the HTTP API and the stream agents) is a set of async functions
taking an ``Engine`` and ``Settings`` (:mod:`rasad.core`): ``create_alert``,
``get_alert``, ``list_alerts``, ``update_alert``, ``set_enabled``, ``delete_alert``,
``backtest``, ``percolate`` and ``recent_hits``.

Alerts live in their own index, ``<prefix>-alerts`` (separate from the articles, as both engines
recommend for percolators), whose mapping is the article mapping plus the ``query`` percolator
field, with the same analysis settings: an alert query is the very query
:func:`indexers.search.query.build_query` makes for a search, analysed the same way, so an alert
matches exactly what the same search would find. A query is checked when the alert is saved
(our parser, then the engine's ``_validate/query``), never at match time.

Webhook signing secrets are stored with the alert (the notifier needs them to sign) and never
leave this module except to the notifier: :meth:`Alert.public` and the percolator's
``_source`` filter leave them out.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from indexers.alerts.model import (
    Alert,
    AlertError,
    AlertHit,
    AlertMode,
    AlertNotFound,
    AlertQueryError,
    AlertRefused,
    AlertSpec,
    hit_key,
)
from indexers.alerts.percolate import percolate_batch
from indexers.alerts.webhook_guard import AllowList, WebhookRefused, validate_url
from indexers.index.analysis import analysis_settings
from indexers.index.documents import to_document
from indexers.index.templates import article_mappings
from indexers.search.query import Filters, build_query
from indexers.search.searcher import SearchRequest, search
from rasad.core import backoff
from rasad.core.article import EnrichedArticle
from rasad.core.engine.client import (
    Engine,
    EngineRejected,
    EngineUnavailable,
    QueryError,
    wait_for_engine,
)
from rasad.core.logs import get_logger
from rasad.core.settings import Settings

log = get_logger(__name__)

__all__ = [
    "Alert", "AlertError", "AlertHit", "AlertMatcher", "AlertMode", "AlertNotFound",
    "AlertQueryError", "AlertRefused", "AlertSpec", "backtest", "create_alert", "delete_alert",
    "ensure_alert_indices", "get_alert", "hit_counts", "hit_key", "list_alerts", "percolate",
    "recent_hits", "set_enabled", "update_alert",
]  # fmt: skip
# Listing is for people: a page of this many alerts; the percolator itself has no such limit.
LIST_SIZE = 1000
# Fields of the stored alert the percolator returns with a match (never the secret).
MATCH_SOURCE = ["alert.id", "alert.name", "alert.owner", "alert.mode"]
# Hit-history fields shown by recent_hits (the ledger's bookkeeping stays inside).
HIT_FIELDS = [
    "key", "alert_id", "alert_name", "article_id", "cluster_id", "title", "url", "source_id",
    "source_name", "published_at", "matched_at", "status", "delivered_at", "attempts", "error",
]  # fmt: skip


# --- Indices -----------------------------------------------------------------------------------
def alerts_index_body(settings: Settings) -> dict[str, Any]:
    properties = dict(article_mappings()["properties"])
    properties["query"] = {"type": "percolator"}
    properties["alert"] = {
        # The definition is kept whole for reading back; only these fields are indexed.
        "dynamic": False,
        "properties": {
            "id": {"type": "keyword"},
            "name": {"type": "keyword"},
            "owner": {"type": "keyword"},
            "mode": {"type": "keyword"},
            "enabled": {"type": "boolean"},
            "created_at": {"type": "date"},
        },
    }
    return {
        "settings": {
            "index": {
                "number_of_shards": settings.alert_index_shards,
                "number_of_replicas": settings.index_replicas,
                "refresh_interval": settings.index_refresh_interval,
            },
            "analysis": analysis_settings(),
        },
        "mappings": {"dynamic": "strict", "properties": properties},
    }


def hits_index_body(settings: Settings) -> dict[str, Any]:
    keyword = {"type": "keyword"}
    date = {"type": "date"}
    names = (
        "key kind status alert_id alert_name owner mode article_id cluster_id url source_id "
        "source_name worker digest_key"
    )
    properties: dict[str, Any] = {name: keyword for name in names.split()}
    properties.update(
        title={"type": "text", "analyzer": "rasad_arabic"},
        error={"type": "keyword", "ignore_above": 1024},
        attempts={"type": "integer"},
        items={"type": "integer"},
        published_at=date,
        matched_at=date,
        claimed_at=date,
        delivered_at=date,
        window_end=date,
    )
    return {
        "settings": {
            "index": {
                "number_of_shards": 1,
                "number_of_replicas": settings.index_replicas,
                "refresh_interval": settings.index_refresh_interval,
            },
            "analysis": analysis_settings(),
        },
        "mappings": {"dynamic": "strict", "properties": properties},
    }


async def ensure_alert_indices(engine: Engine, settings: Settings) -> list[str]:
    """Create the alerts and alert-hits indices if missing; returns what was created."""
    created = []
    for name, body in (
        (settings.alerts_index, alerts_index_body(settings)),
        (settings.alert_hits_index, hits_index_body(settings)),
    ):
        if await engine.create_index(name, body):
            created.append(name)
    return created


# --- Validation --------------------------------------------------------------------------------
def percolator_query(spec: AlertSpec) -> dict[str, Any]:
    try:
        # No date filters in an alert, so "now" does not matter.
        return build_query(spec.query, spec.filters(), datetime.now(UTC))
    except QueryError as exc:
        raise AlertQueryError(f"the alert query {spec.query!r} cannot be used: {exc}") from None


async def validate_spec(engine: Engine, settings: Settings, spec: AlertSpec) -> dict[str, Any]:
    """Refuse what could never work, with a clear message; returns the percolator query."""
    if not spec.query.strip() and spec.filters() == Filters():
        raise AlertQueryError("an alert needs a query or at least one filter")
    query = percolator_query(spec)
    result = await engine.request(
        "POST",
        f"/{settings.alerts_index}/_validate/query",
        params={"explain": "true"},
        body={"query": query},
    )
    explanations = result.get("explanations") or [{}]
    if not result.get("valid", False):
        reason = explanations[0].get("error") or result.get("error") or "invalid query"
        raise AlertQueryError(f"the engine cannot run the alert query {spec.query!r}: {reason}")
    if all(_matches_nothing(e.get("explanation", "")) for e in explanations):
        raise AlertQueryError(f"the alert query {spec.query!r} can never match (only stop words?)")
    if spec.webhook_url:
        try:
            await validate_url(spec.webhook_url, AllowList.parse(settings.alert_webhook_allow))
        except WebhookRefused as exc:
            raise AlertRefused(str(exc)) from None
    if spec.email_to and not settings.alert_smtp_host:
        raise AlertRefused("email alerts need an SMTP server: set RASAD_ALERT_SMTP_HOST")
    return query


def _matches_nothing(explanation: str) -> bool:
    # e.g. '+(+MatchNoDocsQuery("... no terms present"))': every word was a stop word.
    return explanation.lstrip("+(").startswith("MatchNoDocsQuery")


# --- CRUD --------------------------------------------------------------------------------------
def _path(settings: Settings, alert_id: str, op: str = "_doc") -> str:
    return f"/{settings.alerts_index}/{op}/{quote(alert_id, safe='')}"


def _document(alert: Alert, query: dict[str, Any]) -> dict[str, Any]:
    return {"query": query, "alert": alert.stored()}


async def create_alert(engine: Engine, settings: Settings, spec: AlertSpec) -> Alert:
    await ensure_alert_indices(engine, settings)
    query = await validate_spec(engine, settings, spec)
    now = datetime.now(UTC)
    alert = Alert(**_spec_fields(spec), id=uuid.uuid4().hex[:12], created_at=now, updated_at=now)
    # wait_for: the alert is matched (and listed) from the moment this call returns.
    await engine.request(
        "PUT",
        _path(settings, alert.id, "_create"),
        params={"refresh": "wait_for"},
        body=_document(alert, query),
    )
    return alert


def _spec_fields(spec: AlertSpec) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in AlertSpec.model_fields}


async def get_alert(engine: Engine, settings: Settings, alert_id: str) -> Alert:
    try:
        found = await engine.request("GET", _path(settings, alert_id))
    except EngineRejected as exc:
        if exc.status == 404:
            raise AlertNotFound(f"no alert with id {alert_id!r}") from None
        raise
    return Alert.model_validate(found["_source"]["alert"])


async def list_alerts(engine: Engine, settings: Settings, owner: str | None = None) -> list[Alert]:
    query: dict[str, Any] = {"term": {"alert.owner": owner}} if owner else {"match_all": {}}
    body = {
        "query": query,
        "size": LIST_SIZE,
        "sort": [{"alert.created_at": "asc"}],
        "_source": ["alert"],
    }
    try:
        raw = await engine.search(settings.alerts_index, body)
    except EngineRejected as exc:
        if exc.status == 404:
            return []
        raise
    return [Alert.model_validate(h["_source"]["alert"]) for h in raw["hits"]["hits"]]


async def update_alert(engine: Engine, settings: Settings, alert_id: str, spec: AlertSpec) -> Alert:
    """Replace an alert's definition. A spec without a secret keeps the stored one (forms do
    not send it back); an empty secret removes it."""
    current = await get_alert(engine, settings, alert_id)
    fields = _spec_fields(spec)
    if spec.webhook_secret is None:
        fields["webhook_secret"] = current.webhook_secret
    elif not spec.webhook_secret.get_secret_value():
        fields["webhook_secret"] = None
    alert = Alert(
        **fields, id=alert_id, created_at=current.created_at, updated_at=datetime.now(UTC)
    )
    query = await validate_spec(engine, settings, alert)
    await engine.request(
        "PUT",
        _path(settings, alert_id),
        params={"refresh": "wait_for"},
        body=_document(alert, query),
    )
    return alert


async def set_enabled(engine: Engine, settings: Settings, alert_id: str, enabled: bool) -> Alert:
    current = await get_alert(engine, settings, alert_id)
    return await update_alert(
        engine, settings, alert_id, current.model_copy(update={"enabled": enabled})
    )


async def delete_alert(engine: Engine, settings: Settings, alert_id: str) -> None:
    """Delete an alert; its hit history stays."""
    try:
        await engine.request("DELETE", _path(settings, alert_id), params={"refresh": "wait_for"})
    except EngineRejected as exc:
        if exc.status == 404:
            raise AlertNotFound(f"no alert with id {alert_id!r}") from None
        raise


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


# --- Matching, backtests, history --------------------------------------------------------------
async def percolate(
    engine: Engine,
    settings: Settings,
    articles: Sequence[EnrichedArticle],
    now: datetime | None = None,
) -> list[AlertHit]:
    """Every (enabled alert, article) match of a batch, in one percolate request per page."""
    matched_at = now or datetime.now(UTC)
    documents = [to_document(a, matched_at) for a in articles]
    matches = await percolate_batch(
        engine,
        settings.alerts_index,
        documents,
        field="query",
        sort_field="alert.id",
        filters=[{"term": {"alert.enabled": True}}],
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
                )
            )
    return hits


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

    async def match_articles(self, articles: Sequence[EnrichedArticle]) -> list[AlertHit]:
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
                return await percolate(self._engine, self._settings, articles)
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
