"""Dashboard statistics: thin routes over :mod:`indexers.search.stats`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from indexers.search import stats
from indexers.search.query import parse_period
from rasad.web.deps import EngineDep, Reader, ServicesDep

router = APIRouter(prefix="/api/stats", tags=["stats"])

Since = Annotated[str, Query(description="A period back from now: 24h, 7d, 30d; empty = all.")]


def _since(since: str) -> datetime | None:
    # A malformed or overlong period is a QueryError: a 400, as on /api/search.
    return datetime.now(UTC) - parse_period(since) if since else None


@router.get("/volume", summary="Articles over time by topic, source or country")
async def volume(
    engine: EngineDep,
    svc: ServicesDep,
    _: Reader,
    by: stats.VolumeBy = "topic",
    since: Since = "",
) -> dict[str, Any]:
    return await stats.volume(engine, svc.settings.articles_read_alias, by, _since(since))


@router.get("/top-entities", summary="Most-mentioned entities of the period")
async def top_entities(
    engine: EngineDep,
    svc: ServicesDep,
    _: Reader,
    since: Since = "",
    size: Annotated[int, Query(ge=1, le=100)] = 10,
) -> dict[str, Any]:
    found = await stats.top_entities(
        engine, svc.settings.articles_read_alias, _since(since), size=size
    )
    return {"entities": found[: size * 3]}


@router.get("/rising", summary="Topics and entities up on the previous period")
async def rising(
    engine: EngineDep,
    svc: ServicesDep,
    _: Reader,
    since: Annotated[str, Query(description="Length of the period compared: 24h, 7d…")] = "24h",
    anchor: Annotated[
        stats.Anchor,
        Query(description="now, or latest: end at the newest article (for replayed archives)"),
    ] = "latest",
    size: Annotated[int, Query(ge=1, le=50)] = 10,
) -> dict[str, Any]:
    return await stats.rising(
        engine, svc.settings.articles_read_alias, parse_period(since), anchor=anchor, size=size
    )


@router.get("/sources", summary="Articles per source and each source's newest article")
async def sources(
    engine: EngineDep,
    svc: ServicesDep,
    _: Reader,
    since: Since = "",
) -> dict[str, Any]:
    rows = await stats.source_activity(engine, svc.settings.articles_read_alias, _since(since))
    return {"sources": rows}
