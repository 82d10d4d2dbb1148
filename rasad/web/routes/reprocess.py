"""The last reprocess and its diff report (``rasad reprocess``), for the web app."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter

from indexers.index.reprocess_store import last_run
from rasad.web.deps import Reader, ServicesDep

router = APIRouter()


@router.get(
    "/api/reprocess/last",
    tags=["reprocess"],
    summary="The last finished reprocess: its selection, counts and diff report",
)
async def last_reprocess(svc: ServicesDep, _: Reader) -> dict[str, Any]:
    """``{"run": null}`` before any reprocess finished; else the run with ``report``: per tag
    and per entity type the articles gained and lost, and examples (title, old -> new tags,
    evidence)."""
    run = await last_run(await svc.engine.get(), svc.settings)
    return {"run": orjson.loads(run.to_json()) if run is not None else None}
