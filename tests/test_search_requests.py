"""The engine requests behind one search page, built without an engine: a page of hits that
counts nothing, and a summary (total, facets) the engine's shard request cache can answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from indexers.search import searcher as search_layer
from indexers.search.query import Filters
from indexers.search.searcher import (
    SearchRequest,
    encode_cursor,
    hits_body,
    search_now,
    summary_body,
)
from rasad.core.engine.client import Engine, EngineRejected, QueryError
from rasad.core.settings import Settings
from tests.index_fixtures import engine, fresh_settings, index_settings

__all__ = ["engine", "index_settings"]

NOW = datetime(2018, 3, 1, 12, 0, 41, 520_000, tzinfo=UTC)


def test_search_time_is_rounded_down_to_the_minute() -> None:
    assert search_now(NOW) == datetime(2018, 3, 1, 12, 0, tzinfo=UTC)
    assert search_now(NOW + timedelta(seconds=18)) == search_now(NOW)


def test_the_same_search_within_a_minute_sends_the_same_summary_request() -> None:
    request = SearchRequest(query="ترامب", filters=Filters(since="24h", topics=("politics",)))
    first = summary_body(request, search_now(NOW))
    again = summary_body(request, search_now(NOW + timedelta(seconds=15)))
    assert first == again
    assert first["size"] == 0  # only size-0 requests enter the shard request cache
    assert first["track_total_hits"] == search_layer.TOTAL_EXACT_UP_TO


def test_facets_are_counted_over_the_best_hits_and_the_histogram_over_all() -> None:
    aggs = summary_body(SearchRequest(query="ترامب"), NOW)["aggs"]
    assert aggs["sample"]["sampler"] == {"shard_size": search_layer.FACET_SAMPLE}
    assert {"topics", "sources", "entity_per"} <= set(aggs["sample"]["aggs"])
    assert "date_histogram" in aggs["published"]


def test_a_search_without_words_scores_by_recency_and_one_with_words_by_relevance() -> None:
    filtered = SearchRequest(filters=Filters(topics=("sport",)))
    for body in (hits_body(filtered, NOW), summary_body(filtered, NOW)):
        recency = body["query"]["bool"]["should"][0]["distance_feature"]
        assert recency["field"] == "published_at"
        assert recency["origin"] == NOW.isoformat()
    worded = hits_body(SearchRequest(query="ترامب"), NOW)["query"]
    assert "should" not in worded["bool"]


def test_the_page_of_hits_counts_nothing_and_carries_no_facets() -> None:
    body = hits_body(SearchRequest(query="ترامب"), NOW)
    assert body["track_total_hits"] is False
    assert "aggs" not in body
    assert body["size"] == 20
    assert body["_source"] == {"excludes": ["body"]}
    cards = hits_body(SearchRequest(query="ترامب", fields=("id", "title")), NOW)
    assert cards["_source"] == {"includes": ["id", "title"]}


def test_later_pages_count_the_total_without_facets() -> None:
    request = SearchRequest(query="ترامب")
    later = SearchRequest(query="ترامب", cursor=encode_cursor(request, [1.5, 1, "x"]))
    assert "aggs" not in summary_body(later, NOW)
    assert hits_body(later, NOW)["search_after"] == [1.5, 1, "x"]
    assert "aggs" not in summary_body(SearchRequest(query="ترامب", facets=False), NOW)


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("ترامب إيران", {"title", "summary", "body"}),
        ('"الأمم المتحدة"', {"title.exact", "summary.exact", "body.exact"}),
        (
            'ترامب OR "الأمم المتحدة"',
            {"title", "summary", "body", "title.exact", "summary.exact", "body.exact"},
        ),
        ("النفط NOT السعودية", {"title", "summary", "body"}),
    ],
)
def test_only_fields_the_query_can_match_are_highlighted(query: str, fields: set[str]) -> None:
    assert set(hits_body(SearchRequest(query=query), NOW)["highlight"]["fields"]) == fields


def test_a_query_without_words_asks_for_no_highlights() -> None:
    assert "highlight" not in hits_body(SearchRequest(filters=Filters(topics=("sport",))), NOW)
    assert "highlight" not in hits_body(SearchRequest(query="NOT ترامب"), NOW)
    assert "highlight" not in hits_body(SearchRequest(query="ترامب", highlight=False), NOW)


@pytest.mark.parametrize(
    "refused",
    [
        {"query": {"no_such_query": {}}},  # unparseable: the engine fails the whole _msearch
        {"query": {"range": {"published_at": {"gte": "not a date"}}}},  # fails its own item
    ],
)
async def test_a_request_the_engine_refuses_is_a_query_error(
    engine: Engine, index_settings: Settings, refused: dict[str, object]
) -> None:
    alias = index_settings.articles_read_alias
    with pytest.raises(QueryError, match="could not run"):
        await search_layer._msearch(engine, alias, refused, {"size": 0})


async def test_a_missing_index_is_the_engines_404_not_a_query_error(
    engine: Engine, live_stack: Settings
) -> None:
    never_set_up = fresh_settings(live_stack)
    with pytest.raises(EngineRejected) as refused:
        await search_layer.search(engine, never_set_up, SearchRequest(query="ترامب"))
    assert refused.value.status == 404
