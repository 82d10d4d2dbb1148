"""Keyword alerts stored as percolator queries: their indices, validation and CRUD.

The service API (used by the CLI, the HTTP API and the stream agents) is a set of async functions
taking an ``Engine`` and ``Settings`` (:mod:`rasad.core`): ``create_alert``, ``get_alert``,
``list_alerts``, ``update_alert``, ``set_enabled`` and ``delete_alert`` here; matching in
:mod:`indexers.alerts.matcher`; backtests and hit history in :mod:`indexers.alerts.history`.

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

import uuid
from datetime import UTC, datetime
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
from indexers.alerts.webhook_guard import AllowList, WebhookRefused, validate_url
from indexers.index.analysis import analysis_settings
from indexers.index.templates import article_mappings
from indexers.search.query import Filters, build_query
from rasad.core.engine.client import (
    Engine,
    EngineRejected,
    QueryError,
)
from rasad.core.logs import get_logger
from rasad.core.settings import Settings

log = get_logger(__name__)

__all__ = [
    "Alert", "AlertError", "AlertHit", "AlertMode", "AlertNotFound", "AlertQueryError",
    "AlertRefused", "AlertSpec", "create_alert", "delete_alert", "ensure_alert_indices",
    "get_alert", "hit_key", "list_alerts", "set_enabled", "update_alert",
]  # fmt: skip
# Listing is for people: a page of this many alerts; the percolator itself has no such limit.
LIST_SIZE = 1000


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
            "reprocess_digest": {"type": "boolean"},
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
        reprocess={"type": "boolean"},
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
        else:  # fields added to the article mapping since the index was made (additive only)
            await engine.put_mapping(name, body["mappings"])
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
