"""EnrichedArticle -> engine document (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from indexers.index.documents import to_document
from indexers.index.templates import article_mappings
from tests.index_fixtures import has_word, raw_corpus, to_enriched

INDEXED_AT = datetime(2018, 3, 1, tzinfo=UTC)


def _trump_article() -> dict[str, object]:
    raw = next(r for r in raw_corpus(2000) if has_word(r["title"], "ترمب"))
    return to_document(to_enriched(raw), INDEXED_AT)


def test_the_document_has_exactly_the_mapped_fields() -> None:
    # dynamic: strict would reject any other field; a missing one would be a silent gap.
    assert set(_trump_article()) == set(article_mappings()["properties"])


def test_entities_are_indexed_by_type_id_and_name() -> None:
    doc = _trump_article()
    assert "دونالد ترامب" in doc["entity_per"]  # type: ignore[operator]
    assert "Q22686" in doc["entity_ids"]  # type: ignore[operator]
    assert "دونالد ترامب" in doc["entity_names"]  # type: ignore[operator]


def test_topics_are_tag_score_pairs_and_dates_are_utc() -> None:
    doc = _trump_article()
    assert all(set(t) == {"tag", "score"} for t in doc["topics"])  # type: ignore[attr-defined]
    assert str(doc["published_at"]).endswith("+00:00")
    assert doc["indexed_at"] == "2018-03-01T00:00:00+00:00"
