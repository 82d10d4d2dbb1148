"""Arabic search against the real engine: however Arabic spells a word, analysts find it.

Each case compares the engine's hits with what a plain reading of the real corpus text says
must be found (articles that contain only the *other* spelling of the query word).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from indexers.search.query import Filters, build_query
from indexers.search.searcher import SearchRequest, same_story, search
from rasad.core.engine.client import Engine, QueryError
from tests.index_fixtures import IndexedCorpus, article_text, engine, has_word, search_corpus

__all__ = ["engine", "search_corpus"]


async def hit_ids(engine: Engine, corpus: IndexedCorpus, query: str, **filters: object) -> set[str]:
    body = {
        "query": build_query(query, Filters(**filters), datetime.now(UTC)),  # type: ignore[arg-type]
        "size": len(corpus.raws),
        "_source": False,
    }
    raw = await engine.search(corpus.settings.articles_read_alias, body)
    return {h["_id"] for h in raw["hits"]["hits"]}


def ids_where(corpus: IndexedCorpus, *, has: str, lacks: tuple[str, ...] = ()) -> set[str]:
    """Articles with the word ``has`` and none of ``lacks`` anywhere (not even inside words)."""
    found = set()
    for article_id, raw in corpus.raws.items():
        text = article_text(raw)
        if has_word(text, has) and not any(other in text for other in lacks):
            found.add(article_id)
    return found


@pytest.mark.parametrize(
    ("query", "written", "other_spellings"),
    [
        ("ايران", "إيران", ("ايران",)),  # hamza under alef
        ("إيران", "ايران", ("إيران",)),
        ("مدرسه", "مدرسة", ("مدرسه",)),  # taa marbuta / haa
        ("مستشفي", "مستشفى", ("مستشفي",)),  # alef maqsura / yaa
        ("المعارضة", "معارضة", ("المعارضة",)),  # the article al-
        ("والعقوبات", "عقوبات", ("والعقوبات",)),  # clitics: wa + al
        ("عقوبة", "عقوبات", ("عقوبة",)),  # singular finds the (sound feminine) plural
        ("ترمب", "ترامب", ("ترمب",)),  # synonym set: name spelling variants
        ("ترامب", "ترمب", ("ترامب",)),
        ("نتانياهو", "نتنياهو", ("نتانياهو",)),
    ],
)
async def test_a_query_finds_articles_that_spell_the_word_another_way(
    engine: Engine,
    search_corpus: IndexedCorpus,
    query: str,
    written: str,
    other_spellings: tuple[str, ...],
) -> None:
    expected = ids_where(search_corpus, has=written, lacks=other_spellings)
    assert expected, f"the corpus sample should contain {written} without {other_spellings}"
    assert expected <= await hit_ids(engine, search_corpus, query)


@pytest.mark.parametrize("clitic", ["ب", "ل"])
async def test_a_name_is_found_behind_a_single_letter_proclitic(
    engine: Engine, search_corpus: IndexedCorpus, clitic: str
) -> None:
    only_with_clitic = {
        article_id
        for article_id, raw in search_corpus.raws.items()
        if has_word(article_text(raw), f"{clitic}إيران")
        and not has_word(article_text(raw), "إيران")
        and not has_word(article_text(raw), "ايران")
    }
    assert only_with_clitic, f"the corpus sample should write {clitic}إيران without إيران"
    assert only_with_clitic <= await hit_ids(engine, search_corpus, "إيران")


@pytest.mark.parametrize("decorated", ["العُقُوبَات", "العقـــوبات", "ٱلعقوبات"])
async def test_diacritics_and_tatweel_do_not_change_results(
    engine: Engine, search_corpus: IndexedCorpus, decorated: str
) -> None:
    plain = await hit_ids(engine, search_corpus, "العقوبات")
    assert plain
    assert await hit_ids(engine, search_corpus, decorated) == plain


FOLD: dict[str, str | int | None] = {"أ": "ا", "إ": "ا", "آ": "ا", "ى": "ي", "ة": "ه"}


def _folded(text: str) -> str:
    """What the exact analyzer does to text, for checking phrase hits independently."""
    text = re.sub("[\u064b-\u0652\u0640]", "", text)
    return text.translate(str.maketrans(FOLD))


async def test_a_quoted_phrase_matches_only_the_exact_phrase(
    engine: Engine, search_corpus: IndexedCorpus
) -> None:
    phrase_hits = await hit_ids(engine, search_corpus, '"فرض عقوبات"')
    loose_hits = await hit_ids(engine, search_corpus, "فرض عقوبات")
    assert phrase_hits
    assert phrase_hits < loose_hits  # the words apart (or as العقوبات) no longer match
    exact = re.compile(r"(?<![\w])فرض\W+عقوبات(?![\w])")
    for article_id in phrase_hits:
        assert exact.search(_folded(article_text(search_corpus.raws[article_id])))


async def test_boolean_operators(engine: Engine, search_corpus: IndexedCorpus) -> None:
    trump = await hit_ids(engine, search_corpus, "ترامب")
    iran = await hit_ids(engine, search_corpus, "إيران")
    assert await hit_ids(engine, search_corpus, "ترامب AND إيران") == trump & iran
    assert await hit_ids(engine, search_corpus, "ترامب OR إيران") == trump | iran
    assert await hit_ids(engine, search_corpus, "ترامب NOT إيران") == trump - iran
    assert await hit_ids(engine, search_corpus, "ترامب بدون إيران") == trump - iran


async def test_entity_filter_by_id_or_by_name_in_any_spelling(
    engine: Engine, search_corpus: IndexedCorpus
) -> None:
    by_id = await hit_ids(engine, search_corpus, "", entities=("Q1065",))
    assert by_id
    assert await hit_ids(engine, search_corpus, "", entities=("الأمم المتحدة",)) == by_id
    assert await hit_ids(engine, search_corpus, "", entities=("الامم المتحده",)) == by_id


async def test_topic_filter_honours_the_minimum_score(
    engine: Engine, search_corpus: IndexedCorpus
) -> None:
    tagged = {a.id for a in search_corpus.articles if any(t.tag == "sanctions" for t in a.topics)}
    assert (
        await hit_ids(engine, search_corpus, "", topics=("sanctions",), min_topic_score=0.5)
        == tagged
    )
    assert not await hit_ids(engine, search_corpus, "", topics=("sanctions",), min_topic_score=0.6)


async def test_source_and_date_filters(engine: Engine, search_corpus: IndexedCorpus) -> None:
    in_march = {
        a.id
        for a in search_corpus.articles
        if a.published_at.year == 2018 and a.published_at.month == 3
    }
    start = datetime(2018, 3, 1, tzinfo=UTC)
    end = datetime(2018, 3, 31, 23, 59, 59, tzinfo=UTC)
    assert await hit_ids(engine, search_corpus, "", date_from=start, date_to=end) == in_march
    assert not await hit_ids(engine, search_corpus, "", since="24h")  # the corpus is from 2018
    assert not await hit_ids(engine, search_corpus, "", sources=("no-such-outlet",))


async def test_results_carry_highlights_and_facets(
    engine: Engine, search_corpus: IndexedCorpus
) -> None:
    result = await search(engine, search_corpus.settings, SearchRequest(query="والعقوبات"))
    assert result.total > 0
    assert any("<mark>" in f for h in result.hits for f in h.highlights.get("title", []))
    assert {"topics", "sources", "entity_per", "entity_org", "entity_loc", "published"} <= set(
        result.facets
    )
    assert result.facets["topics"][0].key == "sanctions"
    assert "دونالد ترامب" in {b.key for b in result.facets["entity_per"]}


async def test_newest_first_sorting(engine: Engine, search_corpus: IndexedCorpus) -> None:
    result = await search(
        engine, search_corpus.settings, SearchRequest(query="إيران", sort="newest")
    )
    dates = [h.document["published_at"] for h in result.hits]
    assert dates == sorted(dates, reverse=True)


async def test_a_search_without_words_lists_and_samples_the_newest_first(
    engine: Engine, search_corpus: IndexedCorpus
) -> None:
    request = SearchRequest(filters=Filters(topics=("sanctions",)), size=50)
    result = await search(engine, search_corpus.settings, request)
    dates = [h.document["published_at"] for h in result.hits]
    assert dates == sorted(dates, reverse=True)
    assert result.total > len(dates)


async def test_cursor_pages_through_every_hit_exactly_once(
    engine: Engine, search_corpus: IndexedCorpus
) -> None:
    request = SearchRequest(query="ترامب", size=25, facets=False, highlight=False)
    first = await search(engine, search_corpus.settings, request)
    seen = [h.id for h in first.hits]
    cursor = first.next_cursor
    while cursor:
        page = await search(
            engine, search_corpus.settings, SearchRequest(**{**request.__dict__, "cursor": cursor})
        )
        seen.extend(h.id for h in page.hits)
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == first.total


async def test_same_story_lists_a_clusters_articles_oldest_first(
    engine: Engine, search_corpus: IndexedCorpus
) -> None:
    by_cluster: dict[str, list[str]] = {}
    for a in search_corpus.articles:
        assert a.cluster is not None
        by_cluster.setdefault(a.cluster.id, []).append(a.id)
    cluster_id, members = max(by_cluster.items(), key=lambda kv: len(kv[1]))
    assert len(members) > 1
    hits = await same_story(engine, search_corpus.settings, cluster_id)
    assert sorted(h.id for h in hits) == sorted(members)
    dates = [h.document["published_at"] for h in hits]
    assert dates == sorted(dates)


@pytest.mark.parametrize(
    "request_",
    [
        SearchRequest(query="(ترامب"),
        SearchRequest(query="ترامب", cursor="not-a-cursor"),
        SearchRequest(query="ترامب", size=1000),
        SearchRequest(filters=Filters(since="yesterday")),
    ],
)
async def test_invalid_requests_raise_query_error(
    engine: Engine, search_corpus: IndexedCorpus, request_: SearchRequest
) -> None:
    with pytest.raises(QueryError):
        await search(engine, search_corpus.settings, request_)


async def test_a_cursor_from_another_query_is_refused(
    engine: Engine, search_corpus: IndexedCorpus
) -> None:
    first = await search(engine, search_corpus.settings, SearchRequest(query="ترامب", size=5))
    assert first.next_cursor
    with pytest.raises(QueryError, match="another query"):
        await search(
            engine,
            search_corpus.settings,
            SearchRequest(query="إيران", size=5, cursor=first.next_cursor),
        )
