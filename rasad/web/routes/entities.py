"""Entity pages: a thin route over :mod:`indexers.search.entities`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status

from indexers.search.entities import entity_page
from rasad.web.deps import EngineDep, Reader, ServicesDep
from rasad.web.problems import NOT_FOUND

router = APIRouter(prefix="/api/entities", tags=["entities"])


@router.get(
    "/{entity_id}",
    summary="One entity: mentions over time, co-mentioned entities, sources, topics, articles",
    responses=NOT_FOUND,
)
async def entity(
    entity_id: Annotated[str, Path(max_length=200)],
    engine: EngineDep,
    svc: ServicesDep,
    _: Reader,
) -> dict[str, Any]:
    page = await entity_page(engine, svc.settings.articles_read_alias, entity_id)
    if page is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no article mentions entity {entity_id!r}")
    return page
