"""The hand-labelled news set: complete, split by outlet, and every offset still on its text."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from stream.enrich.topics.taxonomy import default_taxonomy
from stream.training.agreement import BatchCoverage, DoubleAnnotated, entities_sample, topics_sample
from stream.training.labels import (
    LABELS_DIR,
    EntityItem,
    TopicItem,
    load_entity_items,
    load_topic_items,
)

TEST_OUTLETS = {"BBC", "CNN"}


@pytest.fixture(scope="module")
def topics() -> list[TopicItem]:
    return load_topic_items()


@pytest.fixture(scope="module")
def entities() -> list[EntityItem]:
    return load_entity_items()


def test_every_topic_item_decides_known_tags_and_every_tag_has_25_positives(
    topics: list[TopicItem],
) -> None:
    tags = {spec.name for spec in default_taxonomy().tags}
    assert len(topics) >= 2000 and len({t.source.id for t in topics}) == len(topics)
    assert all(t.labels <= tags for t in topics)
    positives = Counter(tag for t in topics for tag in t.labels)
    assert {tag: positives[tag] for tag in tags if positives[tag] < 25} == {}


def under_a_tenth(sample: DoubleAnnotated) -> dict[str, BatchCoverage]:
    """Batches (first annotators) with some, but under 10%, of their items labelled twice.

    A batch is sampled after it lands, by someone who is not its annotator, so a batch with no
    second item yet is not counted here; bench/bench_agreement.py prints every batch's coverage.
    """
    batches = sample.coverage_by_batch()
    return {a: b for a, b in batches.items() if b.twice > 0 and b.twice < b.items / 10}


def test_a_tenth_of_each_topic_batch_is_labelled_again_by_another_annotator(
    topics: list[TopicItem],
) -> None:
    """docs/annotation.md 3.6: the second file holds the same items, decided independently."""
    second = load_topic_items(LABELS_DIR / "topics_second.jsonl")
    first = {t.source.id: t for t in topics}
    tags = {spec.name for spec in default_taxonomy().tags}
    ids = [s.source.id for s in second]
    assert len(set(ids)) == len(ids)
    assert under_a_tenth(topics_sample()) == {}
    for item in second:
        original = first[item.source.id]
        assert (item.source, item.split, item.drawn) == (
            original.source,
            original.split,
            original.drawn,
        )
        assert item.annotator != original.annotator and item.labels <= tags


def test_a_tenth_of_each_entity_batch_is_labelled_again_by_another_annotator(
    entities: list[EntityItem],
) -> None:
    """docs/annotation.md 3.6: the same texts (hash-checked by the loader), spans decided again."""
    second = load_entity_items(LABELS_DIR / "entities_second.jsonl")
    first = {e.source.id: e for e in entities}
    ids = [s.source.id for s in second]
    assert len(set(ids)) == len(ids)
    assert under_a_tenth(entities_sample()) == {}
    for item in second:
        original = first[item.source.id]
        assert (item.text, item.split) == (original.text, original.split)
        assert item.annotator != original.annotator


def test_test_outlets_are_never_in_training(
    topics: list[TopicItem], entities: list[EntityItem]
) -> None:
    items: list[TopicItem | EntityItem] = [*topics, *entities]
    for item in items:
        assert (item.split == "test") == (item.source.outlet in TEST_OUTLETS), item.source.id


def test_test_additions_are_test_items_drawn_at_random_or_by_a_keyword_route(
    topics: list[TopicItem],
) -> None:
    additions = [t for t in topics if t.drawn.startswith("test-")]
    assert len(additions) >= 60 and all(t.split == "test" for t in additions)
    for item in additions:
        assert re.fullmatch(r"test-random|test-boost:[^:]+:(title|body)", item.drawn), item.drawn


def test_entity_items_cover_80000_tokens_and_every_span_lies_on_its_text(
    entities: list[EntityItem],
) -> None:
    assert len(entities) >= 400
    assert sum(len(e.text.split()) for e in entities) >= 80_000
    for item in entities:
        for span in item.spans:
            assert 0 <= span.start < span.end <= len(item.text)
            assert item.text[span.start : span.end].strip() == item.text[span.start : span.end]
