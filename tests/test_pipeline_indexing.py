"""raw -> enriched -> engine through the real broker, a real `rasad worker` and the real engine.

Every article published to the raw topic becomes searchable exactly once; publishing the same
articles again leaves the index as it was, and the worker commits its enriched-topic offsets
only for articles the engine already holds.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from rasad.core.article import EnrichedArticle
from rasad.core.deadletter import DeadLetter
from rasad.core.kafka import client_config
from rasad.core.settings import Settings
from tests.pipeline_env import wait_for
from tests.stream_fixtures import (
    UNRELATED,
    StreamEnv,
    consume_keys,
    corpus_articles,
    first_corpus_articles,
    produce,
    publish,
    worker_env,
)

ARTICLES = 40


@pytest.fixture(scope="module")
def pipeline(live_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamEnv]:
    with worker_env(live_stack, tmp_path_factory.mktemp("indexing-worker")) as env:
        yield env


def indexed(env: StreamEnv) -> dict[str, str]:
    """Every searchable article id and its detected language."""
    url = f"{env.settings.engine_url}/{env.index_prefix}-articles"
    httpx.post(f"{url}/_refresh", timeout=60).raise_for_status()
    found = httpx.post(
        f"{url}/_search",
        json={"size": 1000, "_source": ["id", "language"], "query": {"match_all": {}}},
        timeout=60,
    )
    found.raise_for_status()
    hits = found.json()["hits"]["hits"]
    assert len(hits) == len({h["_id"] for h in hits})
    return {h["_id"]: h["_source"]["language"] for h in hits}


def indexing_lag(env: StreamEnv) -> int:
    """Enriched messages the worker has not committed yet (it commits only durable ones)."""
    admin = KafkaAdminClient(client_id="rasad-tests", **client_config(env.settings))
    consumer = KafkaConsumer(**client_config(env.settings))
    try:
        committed = admin.list_group_offsets([env.app_id]).get(env.app_id) or {}
        partitions = consumer.partitions_for_topic(env.enriched) or set()
        ends = consumer.end_offsets([TopicPartition(env.enriched, p) for p in partitions])
    finally:
        consumer.close()
        admin.close()
    return sum(end - (committed[tp].offset if tp in committed else 0) for tp, end in ends.items())


def test_every_published_article_is_searchable_once_and_a_replay_changes_nothing(
    pipeline: StreamEnv,
) -> None:
    articles = first_corpus_articles(ARTICLES)
    ids = {a.id for a in articles}
    publish(pipeline, articles)

    wait_for(f"{len(ids)} articles searchable", lambda: ids <= set(indexed(pipeline)))
    first = indexed(pipeline)
    assert {first[i] for i in ids} == {"ar"}, "what is indexed is the enriched article"

    publish(pipeline, articles)
    # Twice as many enriched messages, every one of them committed: the replay went all the
    # way through the indexer.
    wait_for(
        "the replay enriched and committed by the indexer",
        lambda: enriched_count(pipeline) >= 2 * len(articles) and indexing_lag(pipeline) == 0,
    )
    assert indexed(pipeline) == first


def enriched_count(env: StreamEnv) -> int:
    consumer = KafkaConsumer(**client_config(env.settings))
    try:
        partitions = consumer.partitions_for_topic(env.enriched) or set()
        ends = consumer.end_offsets([TopicPartition(env.enriched, p) for p in partitions])
    finally:
        consumer.close()
    return sum(ends.values())


def test_undecodable_and_refused_articles_reach_the_enriched_dead_letters(
    pipeline: StreamEnv,
) -> None:
    (article,) = corpus_articles([UNRELATED])
    publish(pipeline, [article])
    enriched = consume_keys(pipeline.settings, pipeline.enriched, [article.id.encode()])
    good = EnrichedArticle.from_json(enriched[article.id.encode()])
    # 2^31 content changes is corrupt data: the mapping's integer field refuses it.
    refused = good.model_copy(update={"id": "corrupt-version", "version": 2**31})
    produce(
        pipeline.settings,
        pipeline.enriched,
        [(b"not-json", b'{"id": "x", "title": '), (b"corrupt-version", refused.to_json())],
    )

    dead = pipeline.settings.dead_letter_topic(pipeline.enriched)
    letters = consume_keys(pipeline.settings, dead, [b"not-json", b"corrupt-version"])
    undecodable = DeadLetter.from_json(letters[b"not-json"])
    assert (undecodable.stage, undecodable.error_type) == ("index.decode", "SchemaError")
    assert undecodable.value == b'{"id": "x", "title": '
    rejected = DeadLetter.from_json(letters[b"corrupt-version"])
    assert rejected.stage == "index" and "mapper_parsing_exception" in rejected.error
    assert EnrichedArticle.from_json(rejected.value) == refused
    wait_for("the dead-lettered messages committed", lambda: indexing_lag(pipeline) == 0)
    assert "corrupt-version" not in indexed(pipeline)
    assert article.id in indexed(pipeline)


def test_one_agent_reads_the_enriched_topic_for_indexing_and_alert_matching() -> None:
    """Each enriched message is delivered to one stream and decoded once: two agents on one
    topic share the consumer's per-partition flow control and need every message acked twice
    (stream/app.py, ``index_articles``)."""
    from stream import app as wiring  # builds the Faust app; it connects to nothing until run

    readers = [
        agent.name
        for agent in wiring.app.agents.values()
        if wiring.settings.topic_enriched in agent.channel.topics
    ]
    assert readers == ["stream.app.index_articles"]
