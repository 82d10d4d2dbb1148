"""Dashboard statistics: thin routes over :mod:`indexers.search.stats`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from indexers.search import stats
from indexers.search.query import parse_period
from rasad.core.engine.client import Engine
from rasad.web.deps import EngineDep, Reader, ServicesDep

router = APIRouter(prefix="/api/stats", tags=["stats"])

Since = Annotated[str, Query(description="A period back from now: 24h, 7d, 30d; empty = all.")]


WindowAnchor = Annotated[
    stats.Anchor,
    Query(description="now, or latest: the period ends at the newest article (the data's now)"),
]


async def _window(
    engine: Engine, index: str, since: str, anchor: stats.Anchor
) -> tuple[datetime | None, datetime | None]:
    """[start, end) of "the last <since>", back from now or from the newest article.

    A malformed or overlong period is a QueryError: a 400, as on /api/search."""
    if not since:
        return None, None
    period = parse_period(since)
    end = None
    if anchor == "latest":
        last = (await stats.span(engine, index))[1]
        end = last + timedelta(seconds=1) if last else None
    return (end or datetime.now(UTC)) - period, end


@router.get("/volume", summary="Articles over time by topic, source or country")
async def volume(
    engine: EngineDep,
    svc: ServicesDep,
    _: Reader,
    by: stats.VolumeBy = "topic",
    since: Since = "",
    anchor: WindowAnchor = "now",
) -> dict[str, Any]:
    index = svc.settings.articles_read_alias
    start, end = await _window(engine, index, since, anchor)
    return await stats.volume(engine, index, by, start, end)


@router.get("/top-entities", summary="Most-mentioned entities of the period")
async def top_entities(
    engine: EngineDep,
    svc: ServicesDep,
    _: Reader,
    since: Since = "",
    size: Annotated[int, Query(ge=1, le=100)] = 10,
    anchor: WindowAnchor = "now",
) -> dict[str, Any]:
    index = svc.settings.articles_read_alias
    start, end = await _window(engine, index, since, anchor)
    found = await stats.top_entities(engine, index, start, end, size=size)
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
    anchor: WindowAnchor = "now",
) -> dict[str, Any]:
    index = svc.settings.articles_read_alias
    start, end = await _window(engine, index, since, anchor)
    rows = await stats.source_activity(engine, index, start, end)
    return {"sources": rows}
