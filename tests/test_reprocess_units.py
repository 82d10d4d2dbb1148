"""The pure parts of reprocessing: versions that order both ways, the per-article change, the
diff report, the enrichment version, taxonomy reloads that refuse a bad file, and the reprocess
agent giving way to live batches."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from indexers.index.documents import request_of, to_document
from indexers.index.sink import external_version
from rasad.core.article import EnrichedArticle
from rasad.core.reprocess import change_of, render_text, summarize
from stream.enrich import version
from stream.enrich.pipeline import enrich
from stream.enrich.topics.reload import TaxonomyError, TaxonomyWatch
from stream.enrich.version import DATA_DIR
from stream.reprocess import LiveActivity, reenrich
from tests.stream_fixtures import first_corpus_articles

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def live() -> EnrichedArticle:
    (article,) = first_corpus_articles(1)
    return enrich(article, None, NOW)


def reprocessed(article: EnrichedArticle, at: datetime) -> EnrichedArticle:
    doc = to_document(article, at)
    return reenrich(request_of("run", doc), at, 200_000)


def test_versions_order_live_and_reprocess_both_ways(live: EnrichedArticle) -> None:
    again = reprocessed(live, NOW + timedelta(days=1))
    later = reprocessed(live, NOW + timedelta(days=2))
    newer_live = live.model_copy(update={"version": live.version + 1})
    assert external_version(live) < external_version(again) < external_version(later)
    assert external_version(later) < external_version(newer_live)


def test_a_stored_document_becomes_the_same_article_again(live: EnrichedArticle) -> None:
    again = reprocessed(live, NOW)
    assert again.model_copy(update={"enrichment": live.enrichment}) == live
    assert again.enrichment is not None and again.enrichment.run == "run"
    assert live.enrichment is not None and live.enrichment.run is None


def test_the_diff_counts_gained_and_lost_tags_with_examples(live: EnrichedArticle) -> None:
    request = request_of("run", to_document(live, NOW))
    assert live.topics, "the fixture article has tags"
    lost_all = live.model_copy(update={"topics": [], "entities": live.entities[1:]})
    change = change_of(request, lost_all, NOW)
    assert change.outcome == "changed"
    assert [t.tag for t in change.tags_lost] == sorted(t.tag for t in live.topics)
    report = summarize("run", [change, change_of(request, live, NOW)])
    assert report.outcomes == {"changed": 1, "unchanged": 1}
    assert {tag: c.lost for tag, c in report.tags.items()} == {t.tag: 1 for t in live.topics}
    assert report.entity_types[live.entities[0].type].lost == 1
    assert report.examples[0].title == live.title
    assert "-> -" in render_text(report)


def test_the_enrichment_version_hashes_every_data_file_and_the_code() -> None:
    current = version.current()
    assert {"taxonomy.yaml", "topic-model.tsv", "ner-crf.crfsuite"} <= set(current.files)
    assert all(not name.startswith("labels") for name in current.files)
    assert len(current.id) == len(current.code) == version.HASH_CHARS


def test_a_bad_taxonomy_edit_is_refused_by_line_and_the_old_one_keeps_running(
    tmp_path: Path,
) -> None:
    path = tmp_path / "taxonomy.yaml"
    path.write_text((DATA_DIR / "taxonomy.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    watch = TaxonomyWatch(path)
    try:
        watch.start()
        running = version.current().id
        path.write_text("version: 1\ntags:\n  iran: [\n", encoding="utf-8")
        with pytest.raises(TaxonomyError, match=r"taxonomy\.yaml:\d+"):
            watch.reload_if_changed()
        assert version.current().id == running
        assert watch.reload_if_changed() is False, "a refused edit is reported once"
    finally:
        version.use_taxonomy_path(None)
        TaxonomyWatch(DATA_DIR / "taxonomy.yaml").start()
        version.use_taxonomy_path(None)


async def test_a_reprocessed_article_waits_until_the_live_batch_in_hand_is_enriched() -> None:
    live, held = LiveActivity(), list[bool]()
    live.on_change(held.append)
    with live.working():
        next_reprocessed = asyncio.ensure_future(live.give_way())
        for _ in range(10):  # the event loop runs the waiting reprocess agent ten times
            await asyncio.sleep(0)
        assert not next_reprocessed.done()
        assert held == [True]  # the reprocess partitions are held back meanwhile
    await asyncio.wait_for(next_reprocessed, timeout=60)
    assert held == [True, False]
