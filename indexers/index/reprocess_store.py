"""Reprocess runs and their per-article changes in the engine, and the stored articles a run
selects (``rasad reprocess``, the reprocess worker, the web app's last-reprocess view).

``P-reprocess-runs`` holds one :class:`RunRecord` per run (selection, progress cursor, report);
``P-reprocess-changes`` one :class:`ArticleChange` per (run, article), ``_id`` = run:article, so a
resumed run that sends an article again records it once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import orjson

from indexers.search.query import Filters, build_query
from rasad.core.engine.client import Engine, EngineUnavailable
from rasad.core.reprocess import ArticleChange, RunParams, RunRecord
from rasad.core.settings import Settings

# Documents read per page while selecting articles, and changes read per page for a report:
# pages of a few MB of Arabic text each.
PAGE = 500
_KEYWORD = {"type": "keyword"}


def runs_index(settings: Settings) -> str:
    return f"{settings.index_prefix}-reprocess-runs"


def changes_index(settings: Settings) -> str:
    return f"{settings.index_prefix}-reprocess-changes"


async def ensure_reprocess_indices(engine: Engine, settings: Settings) -> None:
    """Create both indices if missing; only the fields filtered on are indexed."""
    base = {"number_of_shards": 1, "number_of_replicas": settings.index_replicas}
    runs = {"id": _KEYWORD, "state": _KEYWORD, "started_at": {"type": "date"}}
    changes = {"run": _KEYWORD, "article_id": _KEYWORD, "outcome": _KEYWORD}
    for name, properties in ((runs_index(settings), runs), (changes_index(settings), changes)):
        body = {"settings": base, "mappings": {"dynamic": False, "properties": properties}}
        await engine.create_index(name, body)


async def save_run(engine: Engine, settings: Settings, run: RunRecord) -> None:
    await engine.request(
        "PUT",
        f"/{runs_index(settings)}/_doc/{run.id}",
        params={"refresh": "true"},
        body=orjson.loads(run.to_json()),
    )


async def _runs(engine: Engine, settings: Settings, query: dict[str, Any]) -> list[RunRecord]:
    body = {"query": query, "sort": [{"started_at": "desc"}], "size": 20}
    result = await engine.search(runs_index(settings), body)
    return [RunRecord.model_validate(h["_source"]) for h in result["hits"]["hits"]]


async def unfinished_run(engine: Engine, settings: Settings, params: RunParams) -> RunRecord | None:
    """The newest run with these parameters that did not finish: what a new start resumes."""
    query = {"bool": {"must_not": [{"term": {"state": "done"}}]}}
    return next((r for r in await _runs(engine, settings, query) if r.params == params), None)


async def last_run(engine: Engine, settings: Settings) -> RunRecord | None:
    """The newest finished run, with its report (None before any)."""
    if not await engine.cat_indices(runs_index(settings)):
        return None
    runs = await _runs(engine, settings, {"term": {"state": "done"}})
    return runs[0] if runs else None


def selection(params: RunParams, run_id: str, now: datetime) -> dict[str, Any]:
    """The search body selecting a run's articles in a stable order (resumable by
    ``search_after``); a sample is the first N of an order shuffled by the run id."""
    filters = Filters(sources=(params.source,) if params.source else (), since=params.since)
    query = build_query(params.query, filters, now)
    if params.sample is None:
        return {"query": query, "sort": [{"id": "asc"}]}
    # The same seed for the same run: a resumed sample continues the same shuffled order.
    seed = int.from_bytes(run_id.encode()[-8:], "big") % (2**31)
    shuffled = {"function_score": {"query": query, "random_score": {"seed": seed, "field": "id"}}}
    return {"query": shuffled, "sort": [{"_score": "desc"}, {"id": "asc"}]}


async def count_selection(engine: Engine, settings: Settings, params: RunParams) -> int:
    body = selection(params, "count", datetime.now().astimezone())
    total = await engine.count(settings.articles_read_alias, {"query": body["query"]})
    return min(total, params.sample) if params.sample is not None else total


async def pages(
    engine: Engine, settings: Settings, run: RunRecord, now: datetime
) -> AsyncIterator[tuple[list[dict[str, Any]], list[Any]]]:
    """The selected documents, a page at a time from the run's cursor, with each page's
    cursor (the last document's sort values): store it to resume after that page."""
    body = selection(run.params, run.id, now)
    cursor = run.cursor
    left = run.total - run.sent
    while left > 0:
        page = {**body, "size": min(PAGE, left), "track_total_hits": False}
        if cursor is not None:
            page["search_after"] = cursor
        hits = (await engine.search(settings.articles_read_alias, page))["hits"]["hits"]
        if not hits:
            return
        cursor = hits[-1]["sort"]
        left -= len(hits)
        yield [h["_source"] for h in hits], cursor


async def write_changes(
    engine: Engine, settings: Settings, changes: Sequence[ArticleChange]
) -> None:
    lines: list[dict[str, Any]] = []
    for change in changes:
        _id = f"{change.run}:{change.article_id}"
        lines.append({"index": {"_index": changes_index(settings), "_id": _id}})
        lines.append(orjson.loads(change.to_json()))
    if lines:
        result = await engine.bulk(lines)
        if result.get("errors"):
            statuses = [item["index"].get("status", 500) for item in result["items"]]
            failed = [s for s in statuses if s >= 300]
            message = f"reprocess changes refused: {str(result['items'][:2])[:500]}"
            if all(s == 429 or s >= 500 for s in failed):  # the engine is busy: not now
                raise EngineUnavailable(message)
            raise RuntimeError(message)


async def count_changes(engine: Engine, settings: Settings, run: str) -> int:
    await engine.refresh(changes_index(settings))
    return await engine.count(changes_index(settings), {"query": {"term": {"run": run}}})


async def read_changes(engine: Engine, settings: Settings, run: str) -> list[ArticleChange]:
    out: list[ArticleChange] = []
    body: dict[str, Any] = {
        "query": {"term": {"run": run}},
        "sort": [{"article_id": "asc"}],
        "size": PAGE,
    }
    while True:
        hits = (await engine.search(changes_index(settings), body))["hits"]["hits"]
        out.extend(ArticleChange.model_validate(h["_source"]) for h in hits)
        if len(hits) < PAGE:
            return out
        body["search_after"] = hits[-1]["sort"]
