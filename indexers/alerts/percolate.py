"""Batch percolation: many documents per percolate request, every matching stored query back.

Pure engine work, no alert semantics (those live in :mod:`indexers.alerts.store`): send N documents
in one ``percolate`` query, read which stored queries matched which documents (the engine's
``_percolator_document_slot`` field), and page through the matches with ``search_after`` so
an article that matches thousands of alerts loses none of them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Histogram

from rasad.core.engine.client import Engine, EngineRejected

# Matches per page: the engines' default max_result_window. Every page re-runs the whole
# percolation, so pages are as large as allowed; a match's _source is ~100 bytes (~1 MB a page).
PAGE_SIZE = 10_000
SLOT_FIELD = "_percolator_document_slot"

DOCUMENTS = Counter("rasad_percolate_documents_total", "Documents percolated against alerts.")
MATCHES = Counter(
    "rasad_percolate_matches_total", "(stored query, document) pairs the percolator matched."
)
REQUEST_SECONDS = Histogram(
    "rasad_percolate_request_seconds",
    "Time of one percolate request (one page of one batch).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


@dataclass(frozen=True)
class Match:
    """One stored query that matched: its document id, requested source, and document slots."""

    id: str
    source: dict[str, Any]
    slots: tuple[int, ...]


def percolate_body(
    documents: Sequence[dict[str, Any]],
    *,
    field: str,
    filters: Sequence[dict[str, Any]] = (),
    source: Sequence[str] = (),
    sort_field: str,
    size: int = PAGE_SIZE,
    after: list[Any] | None = None,
) -> dict[str, Any]:
    """The request body of one percolate page (pure; exposed for tests and the benchmark)."""
    body: dict[str, Any] = {
        "query": {
            "bool": {
                "must": [{"percolate": {"field": field, "documents": list(documents)}}],
                "filter": list(filters),
            }
        },
        "_source": list(source) if source else False,
        "size": size,
        "sort": [{sort_field: "asc"}],
        # The number of matches is not needed, only the matches: skip counting them all.
        "track_total_hits": False,
    }
    if after is not None:
        body["search_after"] = after
    return body


async def percolate_batch(
    engine: Engine,
    index: str,
    documents: Sequence[dict[str, Any]],
    *,
    field: str,
    sort_field: str,
    filters: Sequence[dict[str, Any]] = (),
    source: Sequence[str] = (),
    page_size: int = PAGE_SIZE,
) -> list[Match]:
    """Every stored query in ``index`` that matches any of ``documents``, with the slots
    (positions in ``documents``) it matched. A missing index holds no queries: no matches."""
    if not documents:
        return []
    matches: list[Match] = []
    after: list[Any] | None = None
    while True:
        body = percolate_body(
            documents,
            field=field,
            filters=filters,
            source=source,
            sort_field=sort_field,
            size=page_size,
            after=after,
        )
        started = time.perf_counter()
        try:
            raw = await engine.search(index, body)
        except EngineRejected as exc:
            if exc.status == 404:
                return []
            raise
        REQUEST_SECONDS.observe(time.perf_counter() - started)
        hits = raw["hits"]["hits"]
        for hit in hits:
            slots = hit.get("fields", {}).get(SLOT_FIELD)
            # The engine omits the slot field when exactly one document was percolated.
            matched = tuple(int(s) for s in slots) if slots is not None else (0,)
            matches.append(Match(str(hit["_id"]), hit.get("_source") or {}, matched))
        if len(hits) < page_size:
            break
        after = hits[-1]["sort"]
    DOCUMENTS.inc(len(documents))
    MATCHES.inc(sum(len(m.slots) for m in matches))
    return matches
