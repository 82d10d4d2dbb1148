"""The one enrichment function the agent and `rasad enrich` share."""

from __future__ import annotations

from datetime import UTC, datetime

from rasad.core.article import Article, Source
from stream.enrich.cluster import StoryClusters
from stream.enrich.pipeline import enrich
from tests.stream_fixtures import WIRE_PAIR, corpus_articles
from tests.test_stream_language import UDHR

NOW = datetime(2018, 2, 28, 12, 0, tzinfo=UTC)


def test_an_arabic_article_gets_language_entities_topics_and_cluster() -> None:
    (article,) = corpus_articles([WIRE_PAIR[0]])
    enriched = enrich(article, StoryClusters({}), NOW)
    assert enriched.lang.code == "ar"
    assert enriched.cluster is not None and enriched.cluster.id == article.id
    assert enriched.enriched_at == NOW
    assert enriched.enrichment is not None  # which models, gazetteers and taxonomy made it
    assert enriched.model_dump(
        exclude={"lang", "entities", "topics", "cluster", "enriched_at", "enrichment"}
    ) == (article.model_dump())


def test_a_non_arabic_article_passes_through_tagged_with_its_language() -> None:
    article = Article(
        id="udhr-en",
        url="https://www.un.org/en/about-us/universal-declaration-of-human-rights",
        canonical_url="https://un.org/en/about-us/universal-declaration-of-human-rights",
        title="Universal Declaration of Human Rights, Article 1",
        body=UDHR["en"],
        published_at=NOW,
        fetched_at=NOW,
        source=Source(id="un", name="United Nations", country="INT", kind="public-service"),
        feed_url="replay:test",
        content_hash="udhr-en",
    )
    enriched = enrich(article, StoryClusters({}), NOW)
    assert (enriched.lang.code, enriched.lang.script) == ("en", "Latin")
    assert (enriched.entities, enriched.topics) == ([], [])
    assert enriched.cluster is not None
