"""Analyst searches for the search benchmarks (bench_web.py, bench_indexer.py).

A handful of typical searches repeated would be answered by the engine's request cache after the
first round; the measured mix is hundreds of distinct searches drawn from what the index holds:
its frequent entity names and the taxonomy's topic terms, in the shapes analysts use.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from indexers.search.query import Filters
from indexers.search.searcher import SearchRequest
from rasad.core.engine.client import Engine
from rasad.core.settings import Settings
from rasad.web.routes.articles import CARD_FIELDS
from stream.enrich.topics.taxonomy import load_taxonomy

# Typical analyst searches: single names, two-word AND, a phrase, OR, NOT, filtered, by time.
# The measured mix adds hundreds more drawn from the indexed corpus (see `query_mix`).
QUERIES: list[dict[str, Any]] = [
    {"q": "ترامب"},
    {"q": "إيران"},
    {"q": "العقوبات"},
    {"q": "ترامب إيران"},
    {"q": '"الأمم المتحدة"'},
    {"q": "سوريا OR العراق"},
    {"q": "النفط NOT السعودية"},
    {"q": "الانتخابات", "sort": "newest"},
    {"q": "كرة القدم", "topic": "sport"},
    {"q": "الاقتصاد", "source": "bbc-arabic"},
    {"q": "", "topic": "economy"},
    {"q": "القدس", "since": "3650d"},
]
# Names per entity type drawn from the index: the ones analysts search for are the frequent ones,
# and a few hundred distinct searches keep the engine's request cache from answering the bench.
MIX_NAMES = 300
# Months of the corpus (Feb-Oct 2018) a date-bounded search may cover.
MIX_MONTHS = range(2, 11)


async def query_mix(
    engine: Engine,
    settings: Settings,
    count: int,
    seed: int,
    months: list[tuple[int, int]] | None = None,
) -> list[Any]:
    """`count` distinct searches shaped like an analyst's: the frequent entity names of the
    indexed corpus and the taxonomy's topic terms, alone, as phrases, combined with AND, OR and
    NOT, filtered by topic, source, entity or a month, sorted by time, and some read on to
    page 2 with the cursor (``"page": 2``), plus the typical searches above. ``months`` are the
    (year, month) pairs a date-bounded search may cover (default: the corpus's 2018 months)."""
    aggs: dict[str, Any] = {
        f: {"terms": {"field": f, "size": MIX_NAMES}} for f in ("entity_per", "entity_org")
    }
    aggs["entity_loc"] = {"terms": {"field": "entity_loc", "size": MIX_NAMES}}
    aggs["sources"] = {"terms": {"field": "source.id", "size": 100}}
    aggs["topics"] = {
        "nested": {"path": "topics"},
        "aggs": {"tags": {"terms": {"field": "topics.tag", "size": 100}}},
    }
    found = (await engine.search(settings.articles_read_alias, {"size": 0, "aggs": aggs}))[
        "aggregations"
    ]
    names = [
        str(b["key"])
        for f in ("entity_per", "entity_org", "entity_loc")
        for b in found[f]["buckets"]
    ]
    sources = [str(b["key"]) for b in found["sources"]["buckets"]]
    topics = [str(b["key"]) for b in found["topics"]["tags"]["buckets"]]
    terms = [t.label for tag in load_taxonomy().tags for t in tag.terms if t.weight >= 2]
    rng = random.Random(seed)

    def words() -> str:
        return rng.choice(names) if rng.random() < 0.6 else rng.choice(terms)

    spans = months or [(2018, m) for m in MIX_MONTHS]

    def month() -> dict[str, str]:
        year, start = rng.choice(spans)
        after = (year + 1, 1) if start == 12 else (year, start + 1)
        return {
            "date_from": f"{year}-{start:02d}-01T00:00:00+00:00",
            "date_to": f"{after[0]}-{after[1]:02d}-01T00:00:00+00:00",
        }

    shapes: list[Callable[[], dict[str, Any]]] = [
        lambda: {"q": words()},
        lambda: {"q": words()},
        lambda: {"q": f'"{rng.choice(names)}"'},
        lambda: {"q": f"{words()} {words()}"},
        lambda: {"q": f"{words()} OR {words()}"},
        lambda: {"q": f"{words()} NOT {words()}"},
        lambda: {"q": words(), "topic": rng.choice(topics)},
        lambda: {"q": words(), "source": rng.choice(sources)},
        lambda: {"q": words(), "entity": rng.choice(names)},
        lambda: {"q": words(), **month()},
        lambda: {"q": words(), "sort": rng.choice(["newest", "oldest"])},
        lambda: {"q": "", "topic": rng.choice(topics), **month()},
        lambda: {"q": words(), "page": 2},
        lambda: {"q": words(), "sort": "newest", "page": 2},
    ]
    mix: dict[bytes, dict[str, Any]] = {}
    for query in QUERIES:
        mix[orjson.dumps(query, option=orjson.OPT_SORT_KEYS)] = query
    while len(mix) < count:
        query = rng.choice(shapes)()
        mix.setdefault(orjson.dumps(query, option=orjson.OPT_SORT_KEYS), query)
    jobs = list(mix.values())
    rng.shuffle(jobs)
    return jobs


def search_request(params: dict[str, Any], cursor: str | None = None) -> SearchRequest:
    """The search layer's request for the API parameters of one bench search."""
    filters = Filters(
        topics=tuple(filter(None, [params.get("topic")])),
        sources=tuple(filter(None, [params.get("source")])),
        entities=tuple(filter(None, [params.get("entity")])),
        since=params.get("since"),
        date_from=datetime.fromisoformat(params["date_from"]) if "date_from" in params else None,
        date_to=datetime.fromisoformat(params["date_to"]) if "date_to" in params else None,
    )
    return SearchRequest(
        query=params["q"],
        filters=filters,
        sort=params.get("sort", "relevance"),
        cursor=cursor,
        fields=CARD_FIELDS,
    )
