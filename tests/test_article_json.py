"""The article schema's JSON: ``to_json`` writes exactly what ``model_dump(mode="json")`` would,
faster, and ``from_json`` still validates every untrusted byte from Kafka."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, field_serializer

from rasad.core.article import (
    Article,
    Cluster,
    EnrichedArticle,
    Entity,
    Evidence,
    JsonModel,
    Language,
    Mention,
    SchemaError,
    Source,
    TopicTag,
)
from stream.enrich.cluster import StoryClusters
from stream.enrich.pipeline import enrich
from tests.stream_fixtures import SEED, WIRE_PAIR, corpus_row

FAST = settings(max_examples=150, deadline=None)


def model_dump_json(model: BaseModel) -> bytes:
    """What ``to_json`` wrote before it skipped the intermediate dicts: the reference."""
    return orjson.dumps(model.model_dump(mode="json"))


def seed_article() -> Article:
    title, body = SEED.read_text(encoding="utf-8").split("\n", 1)
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    return Article(
        id="seed",
        url="https://example.org/seed",
        canonical_url="https://example.org/seed",
        title=title,
        body=body,
        published_at=now,
        fetched_at=now,
        source=Source(id="seed", name="بذرة", country="INT", kind="private"),
        feed_url="https://example.org/feed",
        content_hash="seed",
    )


def test_an_enriched_seed_article_encodes_as_model_dump_does() -> None:
    enriched = enrich(seed_article(), StoryClusters({}), datetime.now(UTC))
    assert enriched.entities and enriched.topics  # nested models of every kind
    assert enriched.to_json() == model_dump_json(enriched)
    assert EnrichedArticle.from_json(enriched.to_json()) == enriched


def test_a_corpus_article_decoded_from_json_encodes_identically() -> None:
    row = corpus_row(WIRE_PAIR[0])
    article = seed_article().model_copy(update={"title": row["title"], "body": row["text"]})
    # Datetimes parsed from JSON carry pydantic's own tzinfo class, not datetime.UTC.
    decoded = Article.from_json(article.to_json())
    assert decoded.to_json() == model_dump_json(decoded) == article.to_json()


OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
# hypothesis takes naive bounds and attaches one of ``timezones`` to each value
AWARE = st.datetimes(
    min_value=datetime(1, 1, 2),  # noqa: DTZ001
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=st.just(UTC) | OFFSETS,
)
TEXT = st.text(max_size=30)
SCORES = st.floats(min_value=0.0, max_value=1.0)


@FAST
@given(
    title=TEXT,
    published=AWARE,
    enriched_at=AWARE,
    confidence=SCORES,
    score=SCORES,
    weight=st.floats(allow_nan=False),
    salience=SCORES,
    start=st.integers(min_value=0, max_value=2**40),
    authors=st.lists(TEXT, max_size=3),
    name_en=st.none() | TEXT,
)
def test_any_enriched_article_encodes_as_model_dump_does(
    title: str,
    published: datetime,
    enriched_at: datetime,
    confidence: float,
    score: float,
    weight: float,
    salience: float,
    start: int,
    authors: list[str],
    name_en: str | None,
) -> None:
    mention = Mention(field="title", start=start, end=start + 1, text=title)
    enriched = EnrichedArticle(
        **seed_article()
        .model_copy(update={"title": title, "authors": authors, "published_at": published})
        .__dict__,
        lang=Language(code="ar", script="Arabic", confidence=confidence),
        entities=[
            Entity(
                type="PER",
                id="per.x",
                name=title,
                name_en=name_en,
                count=1,
                salience=salience,
                mentions=[mention],
            )
        ],
        topics=[
            TopicTag(
                tag="iran",
                score=score,
                evidence=[
                    Evidence(kind="term", value=title, field="body", start=0, end=1, weight=weight)
                ],
            )
        ],
        cluster=Cluster(id="c", first_id="c", first_seen=published, exact_duplicate=False),
        enriched_at=enriched_at,
    )
    assert enriched.to_json() == model_dump_json(enriched)


class Renamed(JsonModel):
    """A model whose JSON is not its fields: a serializer and an alias."""

    when: datetime
    label: str = Field(serialization_alias="name")

    @field_serializer("when")
    def _epoch(self, when: datetime) -> float:
        return when.timestamp()


def test_a_model_with_its_own_serialization_keeps_it() -> None:
    model = Renamed(when=datetime(2026, 3, 1, tzinfo=UTC), label="x")
    assert model.to_json() == model_dump_json(model) == b'{"when":1772323200.0,"label":"x"}'


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"{}",
        b'{"id": 1}',
        orjson.dumps({**orjson.loads(seed_article().to_json()), "published_at": "yesterday"}),
        orjson.dumps({**orjson.loads(seed_article().to_json()), "unexpected": True}),
    ],
)
def test_bad_bytes_from_kafka_are_a_schema_error(raw: bytes) -> None:
    with pytest.raises(SchemaError):
        Article.from_json(raw)
