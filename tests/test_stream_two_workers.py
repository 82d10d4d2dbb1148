"""Two workers of one app split the raw partitions; reports of one story landing on different
partitions (so on different workers) still share one cluster through the global table."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka import KafkaProducer

from rasad.core.article import Article, EnrichedArticle
from rasad.core.kafka import client_config
from rasad.core.settings import Settings
from tests.pipeline_env import group_members, wait_for
from tests.stream_fixtures import (
    WIRE_PAIR,
    WORKER_TIMEOUT_S,
    StreamEnv,
    consume_keys,
    corpus_articles,
    running_worker,
)

# Until the second worker has joined: the group rebalances and it recovers the global table.
REBALANCE_TIMEOUT_S = 180.0


def light_edit(article: Article, partition: int) -> Article:
    """Another outlet's copy of the story: own id and url, a reworded title, the last sentence
    dropped."""
    body = article.body.rsplit(".", 2)[0] + "."
    return article.model_copy(
        update={
            "id": f"{article.id[:20]}p{partition}",
            "url": f"{article.url}#p{partition}",
            "title": "عاجل: " + article.title,
            "body": body,
        }
    )


@pytest.mark.slow
def test_one_story_on_every_partition_gets_one_cluster(
    live_stack: Settings, tmp_path: Path
) -> None:
    env = StreamEnv(live_stack)
    partitions = live_stack.topic_partitions
    try:
        with running_worker(env, tmp_path / "a"), running_worker(env, tmp_path / "b"):
            (original,) = corpus_articles(WIRE_PAIR[:1])
            producer = KafkaProducer(acks="all", **client_config(live_stack))
            producer.send(env.raw, key=original.id.encode(), value=original.to_json(), partition=0)
            producer.flush()
            assert consume_keys(live_stack, env.enriched, [original.id.encode()])
            wait_for(
                "both workers to hold raw partitions",
                lambda: (
                    len(m := group_members(live_stack, env.app_id, env.raw)) == 2
                    and all(m.values())
                ),
                REBALANCE_TIMEOUT_S,
            )
            copies = [light_edit(original, p) for p in range(partitions)]
            for p, copy in enumerate(copies):
                producer.send(env.raw, key=copy.id.encode(), value=copy.to_json(), partition=p)
            producer.flush()
            producer.close()
            got = consume_keys(live_stack, env.enriched, [c.id.encode() for c in copies])
        clusters = {EnrichedArticle.from_json(v).cluster for v in got.values()}
        missing = {c.id for c in copies} - {key.decode() for key in got}
        assert not missing, f"not enriched within {WORKER_TIMEOUT_S:.0f} s: {sorted(missing)}"
        assert {c.id for c in clusters if c is not None} == {original.id}
    finally:
        env.delete_topics()
