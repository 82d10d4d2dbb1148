"""Dashboard statistics as engine aggregations over the articles read alias.

Volume over time (by topic, source or country), top entities for a period, and what is rising
compared with the period before. Each function builds one aggregation request (a pure
``*_body`` function, testable without an engine) and reads the answer into plain dicts.
Field names are those written by :func:`indexers.index.documents.to_document`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from indexers.index.documents import ENTITY_FIELDS
from rasad.core.engine.client import Engine

VolumeBy = Literal["topic", "source", "country"]
Anchor = Literal["now", "latest"]

# Lines on one chart: more than ~10 coloured series is unreadable.
MAX_SERIES = 10
# Buckets a chart can show legibly across its width; the interval is chosen to stay under it.
MAX_BUCKETS = 120
# Candidates scored for "rising": enough to find newcomers beyond the all-time leaders.
RISING_CANDIDATES = 200
# A term must be seen this often in the current period to count as rising (filters noise).
RISING_MIN_COUNT = 3
_INTERVALS = (
    ("1h", timedelta(hours=1)),
    ("1d", timedelta(days=1)),
    ("1w", timedelta(weeks=1)),
    ("1M", timedelta(days=31)),
)


def pick_interval(span: timedelta) -> str:
    """The finest calendar interval that keeps a span under MAX_BUCKETS buckets."""
    for name, width in _INTERVALS:
        if span / width <= MAX_BUCKETS:
            return name
    return "1y"


def _range(since: datetime | None, until: datetime | None) -> list[dict[str, Any]]:
    bounds: dict[str, str] = {}
    if since is not None:
        bounds["gte"] = since.astimezone(UTC).isoformat()
    if until is not None:
        bounds["lt"] = until.astimezone(UTC).isoformat()
    return [{"range": {"published_at": bounds}}] if bounds else []


def _histogram(interval: str) -> dict[str, Any]:
    return {
        "date_histogram": {
            "field": "published_at",
            "calendar_interval": interval,
            "min_doc_count": 0,
        }
    }


def volume_body(
    by: VolumeBy, since: datetime | None, until: datetime | None, interval: str
) -> dict[str, Any]:
    over_time = {"over_time": _histogram(interval)}
    if by == "topic":
        aggs: dict[str, Any] = {
            "topics": {
                "nested": {"path": "topics"},
                "aggs": {
                    "series": {
                        "terms": {"field": "topics.tag", "size": MAX_SERIES},
                        "aggs": {"articles": {"reverse_nested": {}, "aggs": over_time}},
                    }
                },
            }
        }
    else:
        field = "source.id" if by == "source" else "source.country"
        aggs = {"series": {"terms": {"field": field, "size": MAX_SERIES}, "aggs": over_time}}
    return {
        "size": 0,
        "track_total_hits": True,
        "query": {"bool": {"filter": _range(since, until)}},
        "aggs": aggs,
    }


async def span(engine: Engine, index: str) -> tuple[datetime | None, datetime | None]:
    answer = await engine.search(
        index,
        {
            "size": 0,
            "aggs": {
                "first": {"min": {"field": "published_at"}},
                "last": {"max": {"field": "published_at"}},
            },
        },
    )
    aggs = answer.get("aggregations", {})

    def stamp(name: str) -> datetime | None:
        value = aggs.get(name, {}).get("value")
        return None if value is None else datetime.fromtimestamp(value / 1000, UTC)

    return stamp("first"), stamp("last")


async def volume(
    engine: Engine,
    index: str,
    by: VolumeBy,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """Articles per interval for the top MAX_SERIES topics, sources or countries."""
    first, last = await span(engine, index)
    start = since or first
    end = until or last or datetime.now(UTC)
    interval = pick_interval(end - start) if start else "1d"
    answer = await engine.search(index, volume_body(by, since, until, interval))
    aggs = answer.get("aggregations", {})
    buckets = (aggs["topics"] if by == "topic" else aggs)["series"]["buckets"]
    series = []
    for bucket in buckets:
        holder = bucket["articles"] if by == "topic" else bucket
        points = [[p["key_as_string"], p["doc_count"]] for p in holder["over_time"]["buckets"]]
        series.append({"key": bucket["key"], "count": bucket["doc_count"], "points": points})
    return {
        "by": by,
        "interval": interval,
        "total": answer["hits"]["total"]["value"],
        "first": first.isoformat() if first else None,
        "last": last.isoformat() if last else None,
        "series": series,
    }


def top_entities_body(since: datetime | None, until: datetime | None, size: int) -> dict[str, Any]:
    return {
        "size": 0,
        "query": {"bool": {"filter": _range(since, until)}},
        "aggs": {
            etype: {"terms": {"field": field, "size": size}}
            for etype, field in ENTITY_FIELDS.items()
        },
    }


async def top_entities(
    engine: Engine,
    index: str,
    since: datetime | None = None,
    until: datetime | None = None,
    size: int = 10,
) -> list[dict[str, Any]]:
    """The most-mentioned entities of each type, as one list ordered by article count."""
    answer = await engine.search(index, top_entities_body(since, until, size))
    found = [
        {"type": etype, "name": b["key"], "count": b["doc_count"]}
        for etype, agg in answer.get("aggregations", {}).items()
        for b in agg["buckets"]
    ]
    return sorted(found, key=lambda e: -int(e["count"]))


def _periods(current: datetime, previous: datetime, until: datetime) -> dict[str, Any]:
    def window(start: datetime, end: datetime) -> dict[str, Any]:
        return {"range": {"published_at": {"gte": start.isoformat(), "lt": end.isoformat()}}}

    return {
        "filters": {
            "filters": {"current": window(current, until), "previous": window(previous, current)}
        }
    }


def rising_body(until: datetime, period: timedelta) -> dict[str, Any]:
    current, previous = until - period, until - 2 * period
    periods = {"periods": _periods(current, previous, until)}
    entity_aggs = {
        etype: {"terms": {"field": field, "size": RISING_CANDIDATES}, "aggs": periods}
        for etype, field in ENTITY_FIELDS.items()
    }
    return {
        "size": 0,
        "query": {"bool": {"filter": _range(previous, until)}},
        "aggs": {
            "topics": {
                "nested": {"path": "topics"},
                "aggs": {
                    "tags": {
                        "terms": {"field": "topics.tag", "size": RISING_CANDIDATES},
                        "aggs": {"articles": {"reverse_nested": {}, "aggs": periods}},
                    }
                },
            },
            **entity_aggs,
        },
    }


def _score(key: str, periods: dict[str, Any], kind: str) -> dict[str, Any] | None:
    current = periods["buckets"]["current"]["doc_count"]
    previous = periods["buckets"]["previous"]["doc_count"]
    if current < RISING_MIN_COUNT or current <= previous:
        return None
    # +1 smoothing: a newcomer (previous 0) ranks by its count instead of dividing by zero.
    return {
        "key": key,
        "kind": kind,
        "current": current,
        "previous": previous,
        "ratio": round((current + 1) / (previous + 1), 2),
    }


async def rising(
    engine: Engine,
    index: str,
    period: timedelta,
    until: datetime | None = None,
    anchor: Anchor = "now",
    size: int = 10,
) -> dict[str, Any]:
    """Topics and entities seen more in [until-period, until) than in the period before.

    ``anchor="latest"`` ends the period at the newest article instead of now: a replayed
    archive has no articles "today", and would otherwise show nothing rising.
    """
    if until is None:
        until = (await span(engine, index))[1] if anchor == "latest" else None
        until = until + timedelta(seconds=1) if until else datetime.now(UTC)
    answer = await engine.search(index, rising_body(until, period))
    aggs = answer.get("aggregations", {})
    topics = [
        _score(b["key"], b["articles"]["periods"], "topic")
        for b in aggs["topics"]["tags"]["buckets"]
    ]
    entities = [
        _score(b["key"], b["periods"], etype)
        for etype in ENTITY_FIELDS
        for b in aggs[etype]["buckets"]
    ]

    def best(rows: list[dict[str, Any] | None]) -> list[dict[str, Any]]:
        kept = [r for r in rows if r is not None]
        return sorted(kept, key=lambda r: (-r["ratio"], -r["current"]))[:size]

    return {
        "until": until.isoformat(),
        "period_s": period.total_seconds(),
        "topics": best(topics),
        "entities": best(entities),
    }


def sources_body(since: datetime | None, until: datetime | None) -> dict[str, Any]:
    return {
        "size": 0,
        "query": {"bool": {"filter": _range(since, until)}},
        "aggs": {
            "sources": {
                # Every outlet of the registry fits: the registry lists tens, not thousands.
                "terms": {"field": "source.id", "size": 500},
                "aggs": {
                    "latest": {"max": {"field": "published_at"}},
                    "name": {"terms": {"field": "source.name", "size": 1}},
                    "country": {"terms": {"field": "source.country", "size": 1}},
                },
            }
        },
    }


async def source_activity(
    engine: Engine, index: str, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """Articles per source in the period, with the newest article's time."""
    answer = await engine.search(index, sources_body(since, until))
    rows = []
    for b in answer.get("aggregations", {}).get("sources", {}).get("buckets", []):
        names, countries = b["name"]["buckets"], b["country"]["buckets"]
        latest = b["latest"].get("value")
        rows.append(
            {
                "key": b["key"],
                "count": b["doc_count"],
                "name": names[0]["key"] if names else b["key"],
                "country": countries[0]["key"] if countries else None,
                "latest": datetime.fromtimestamp(latest / 1000, UTC).isoformat()
                if latest is not None
                else None,
            }
        )
    return rows
