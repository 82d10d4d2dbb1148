"""Index templates, aliases, mapping migration and synonym reload against the real engine."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from indexers.index.analysis import AnalysisFileError, load_synonyms, parse_synonyms
from indexers.index.documents import article_index
from indexers.index.sink import IndexSink
from indexers.index.templates import (
    TEMPLATE_VERSION,
    TemplateVersionError,
    ensure_index_setup,
    generation,
    migrate,
    reload_synonyms,
    write_generation,
)
from indexers.search.query import Filters, build_query
from rasad.core.article import EnrichedArticle
from rasad.core.deadletter import DeadLetter
from rasad.core.engine.client import Engine
from rasad.core.settings import Settings
from tests.index_fixtures import (
    article_text,
    engine,
    has_word,
    index_settings,
    raw_corpus,
    to_enriched,
)

__all__ = ["engine", "index_settings"]


async def never_dead(letter: DeadLetter) -> None:
    raise AssertionError(f"{letter.key!r} dead-lettered: {letter.error}")


async def index(engine: Engine, settings: Settings, articles: list[EnrichedArticle]) -> None:
    sink = IndexSink(engine, settings, never_dead)
    for article in articles:
        await sink.add(article)
    await sink.flush()
    await engine.refresh(settings.articles_read_alias)


async def hits(engine: Engine, settings: Settings, query: str) -> set[str]:
    body = {"query": build_query(query, Filters(), datetime.now(UTC)), "size": 500}
    raw = await engine.search(settings.articles_read_alias, body)
    return {h["_id"] for h in raw["hits"]["hits"]}


async def test_setup_is_idempotent(engine: Engine, index_settings: Settings) -> None:
    read = await engine.get_alias(index_settings.articles_read_alias)
    assert read == await engine.get_alias(index_settings.articles_write_alias)
    assert read and all(name.startswith(generation(index_settings)) for name in read)
    assert await ensure_index_setup(engine, index_settings) == []
    assert await engine.get_alias(index_settings.articles_read_alias) == read


async def test_the_mapping_is_strict(engine: Engine, index_settings: Settings) -> None:
    target = (await engine.get_alias(index_settings.articles_write_alias))[0]
    result = await engine.bulk([{"index": {"_index": target}}, {"id": "x", "unexpected": 1}])
    assert result["items"][0]["index"]["error"]["type"] == "strict_dynamic_mapping_exception"


def test_an_article_lives_in_the_index_of_its_utc_publication_year() -> None:
    mid_year = datetime.fromisoformat("2018-06-15T12:00:00+03:00")
    assert article_index("rasad-articles-v2", mid_year) == "rasad-articles-v2-2018"
    # Half past midnight on New Year's Day in Tehran is still the old year in UTC.
    new_year = datetime.fromisoformat("2018-01-01T00:30:00+03:30")
    assert article_index("rasad-articles-v2", new_year) == "rasad-articles-v2-2017"
    # Generation 1 had monthly indices; its writers keep them until `rasad index-migrate`.
    assert article_index("rasad-articles-v1", mid_year) == "rasad-articles-v1-2018.06"


async def test_setup_refuses_to_downgrade_a_newer_mapping(
    engine: Engine, index_settings: Settings
) -> None:
    newer = f"{index_settings.index_prefix}-articles-v9-2018.01"
    await engine.create_index(newer, {"aliases": {index_settings.articles_write_alias: {}}})
    with pytest.raises(TemplateVersionError, match="newer"):
        await ensure_index_setup(engine, index_settings)


async def test_migration_reindexes_behind_the_aliases(
    engine: Engine, index_settings: Settings
) -> None:
    articles = [to_enriched(raw) for raw in raw_corpus(60)]
    await index(engine, index_settings, articles)
    before = await hits(engine, index_settings, "ترمب")
    assert before

    done = await migrate(engine, index_settings, to_version=TEMPLATE_VERSION + 1)

    assert "reindexed 60 articles" in done[0]
    target = generation(index_settings, TEMPLATE_VERSION + 1)
    assert await write_generation(engine, index_settings) == target
    read = await engine.get_alias(index_settings.articles_read_alias)
    assert read and all(name.startswith(target) for name in read)
    assert await engine.count(index_settings.articles_read_alias) == 60
    assert await hits(engine, index_settings, "ترمب") == before
    # A sink started now writes into the new generation; a replay is still a no-op.
    await index(engine, index_settings, articles[:5])
    assert await engine.count(index_settings.articles_read_alias) == 60


async def test_reloaded_synonyms_change_search_without_reindexing(
    engine: Engine, index_settings: Settings
) -> None:
    raws = [r for r in raw_corpus(3000) if has_word(article_text(r), "موسكو")][:5]
    raws += [r for r in raw_corpus(3000) if has_word(article_text(r), "الكرملين")][:5]
    articles = [to_enriched(raw) for raw in raws]
    await index(engine, index_settings, articles)
    moscow_only = {
        a.id for a, r in zip(articles, raws, strict=True) if "الكرملين" not in article_text(r)
    }
    assert moscow_only
    assert not moscow_only & await hits(engine, index_settings, "الكرملين")

    reloaded = await reload_synonyms(engine, index_settings, [*load_synonyms(), "الكرملين, موسكو"])

    assert reloaded == await engine.get_alias(index_settings.articles_read_alias)
    assert moscow_only <= await hits(engine, index_settings, "الكرملين")


def test_a_malformed_synonym_line_is_named_by_file_and_line() -> None:
    with pytest.raises(AnalysisFileError, match=r"synonyms\.txt:2: expected two or more"):
        parse_synonyms("ترمب, ترامب\nبوتين\n", "synonyms.txt")
