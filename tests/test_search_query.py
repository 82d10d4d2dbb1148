"""The analyst query language, parsed and compiled without an engine."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from indexers.search.query import (
    MAX_QUERY_CHARS,
    And,
    Filters,
    Not,
    Or,
    Phrase,
    Term,
    build_query,
    parse_query,
    parse_since,
)
from rasad.core.engine.client import QueryError

NOW = datetime(2018, 3, 1, 12, 0, tzinfo=UTC)


def test_bare_words_all_must_match() -> None:
    assert parse_query("عقوبات إيران") == And((Term("عقوبات"), Term("إيران")))


def test_or_binds_looser_than_and() -> None:
    assert parse_query("ترامب AND إيران OR روسيا") == Or(
        (And((Term("ترامب"), Term("إيران"))), Term("روسيا"))
    )


def test_parentheses_group() -> None:
    assert parse_query("ترامب (إيران OR روسيا)") == And(
        (Term("ترامب"), Or((Term("إيران"), Term("روسيا"))))
    )


def test_arabic_operators_and_guillemet_quotes() -> None:
    assert parse_query("«فرض عقوبات» أو إيران بدون روسيا") == Or(
        (Phrase("فرض عقوبات"), And((Term("إيران"), Not(Term("روسيا")))))
    )


def test_minus_prefix_is_not() -> None:
    assert parse_query("ترامب -كوريا") == And((Term("ترامب"), Not(Term("كوريا"))))


def test_consecutive_words_go_to_the_engine_together() -> None:
    query = build_query("الولايات المتحدة -كوريا", Filters(), NOW)
    clause = query["bool"]["must"][0]["bool"]
    assert clause["must"][0]["multi_match"]["query"] == "الولايات المتحدة"
    assert clause["must"][0]["multi_match"]["operator"] == "and"
    assert clause["must_not"][0]["multi_match"]["query"] == "كوريا"


def test_phrases_search_the_exact_fields() -> None:
    clause = build_query('"فرض عقوبات"', Filters(), NOW)["bool"]["must"][0]["multi_match"]
    assert clause["type"] == "phrase"
    assert all(".exact" in f for f in clause["fields"])


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('"فرض عقوبات', "quotation mark is not closed"),
        ("(ترامب OR إيران", "parenthesis is not closed"),
        ("ترامب)", "parenthesis not opened"),
        ("ترامب AND", "must follow"),
        ("OR ترامب", "needs a word or phrase"),
        ("()", "empty parentheses"),
        ('""', "empty phrase"),
        ("ا" * (MAX_QUERY_CHARS + 1), "longer than"),
        (" OR ".join(["كلمة"] * 70), "more than"),
    ],
)
def test_bad_queries_say_what_is_wrong(query: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_query(query)


def test_empty_query_without_filters_matches_everything() -> None:
    assert build_query("  ", Filters(), NOW) == {"match_all": {}}


def test_filters_compile_to_filter_clauses() -> None:
    filters = Filters(
        topics=("sanctions",),
        min_topic_score=0.5,
        entities=("Q794",),
        sources=("alarabiya",),
        since="24h",
    )
    clauses = build_query("", filters, NOW)["bool"]["filter"]
    nested = clauses[0]["nested"]
    assert nested["path"] == "topics"
    assert {"range": {"topics.score": {"gte": 0.5}}} in nested["query"]["bool"]["filter"]
    assert {"terms": {"source.id": ["alarabiya"]}} in clauses
    assert clauses[-1] == {"range": {"published_at": {"gte": "2018-02-28T12:00:00+00:00"}}}


@pytest.mark.parametrize(("since", "hours"), [("24h", 24), ("7d", 168), ("2w", 336), ("90m", 1.5)])
def test_since_units(since: str, hours: float) -> None:
    assert (NOW - parse_since(since, NOW)).total_seconds() == hours * 3600


def test_since_rejects_nonsense() -> None:
    with pytest.raises(QueryError, match="24h or 7d"):
        parse_since("yesterday", NOW)


def test_naive_dates_are_refused() -> None:
    with pytest.raises(QueryError, match="time zone"):
        build_query("", Filters(date_from=datetime(2018, 1, 1)), NOW)  # noqa: DTZ001
