"""Consumer lag on a worker's /metrics page: ``rasad_consumer_lag{topic,partition,group}``.

The gauge counts what the group has not committed yet. Through the real broker: a worker started
before its index exists enriches everything (raw lag 0) but cannot index, so every enriched
article stays as lag; once `rasad setup` makes the index, the indexer drains it to 0.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from faust.types import TP
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.structs import OffsetAndMetadata
from prometheus_client.parser import text_string_to_metric_families

from rasad.cli.status import worker_counters
from rasad.core.kafka import client_config
from rasad.core.settings import Settings
from stream.lag import CONSUMER_LAG, CommittedOffsets, LagGauge, partition_lags
from tests.pipeline_env import wait_for
from tests.stream_fixtures import StreamEnv, first_corpus_articles, publish, worker_env

ARTICLES = 20
RAW0, RAW1 = TP("raw", 0), TP("raw", 1)


# --- the arithmetic ------------------------------------------------------------------------------


def test_lag_is_the_end_offset_minus_the_committed_offset() -> None:
    assert partition_lags([RAW0, RAW1], {RAW0: 50, RAW1: 7}, {RAW0: 42, RAW1: 7}, {}) == {
        RAW0: 8,
        RAW1: 0,
    }


def test_a_partition_never_committed_counts_from_its_earliest_offset() -> None:
    # The worker starts a new group at the earliest offset: retention may have moved it past 0.
    assert partition_lags([RAW0], {RAW0: 50}, {RAW0: None}, {RAW0: 30}) == {RAW0: 20}


def test_a_partition_with_an_unknown_end_is_left_out_and_lag_is_never_negative() -> None:
    lags = partition_lags([RAW0, RAW1], {RAW0: None, RAW1: 10}, {RAW0: 3, RAW1: 12}, {})
    assert lags == {RAW1: 0}


def test_the_committed_offsets_are_the_groups_own_record_on_the_broker(
    live_stack: Settings, kafka_admin: KafkaAdminClient
) -> None:
    # What a restarted worker reads on its first tick, before Faust has sought to them: the
    # group committed 3 on partition 0 (its earlier run) and never committed partition 1.
    topic, group = f"test.lag.{uuid.uuid4().hex[:10]}", f"rasad-test-lag-{uuid.uuid4().hex[:10]}"
    kafka_admin.create_topics([NewTopic(topic, 2, 1)])
    try:
        consumer = KafkaConsumer(group_id=group, **client_config(live_stack))
        consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(3, "", -1)})
        consumer.close()

        async def read() -> dict[TP, int | None]:
            offsets = CommittedOffsets(live_stack, group)
            try:
                return await offsets.read([TP(topic, 0), TP(topic, 1)])
            finally:
                await offsets.close()

        assert asyncio.run(read()) == {TP(topic, 0): 3, TP(topic, 1): None}
    finally:
        kafka_admin.delete_topics([topic])


def _series(group: str) -> dict[tuple[str, str], float]:
    return {
        (s.labels["topic"], s.labels["partition"]): s.value
        for metric in CONSUMER_LAG.collect()
        for s in metric.samples
        if s.labels["group"] == group
    }


def test_a_partition_no_longer_assigned_leaves_the_gauge() -> None:
    gauge = LagGauge("test-revoked")
    gauge.show({RAW0: 5, RAW1: 3})
    gauge.show({RAW1: 1})
    assert _series("test-revoked") == {("raw", "1"): 1.0}


def test_rasad_status_shows_a_workers_lag_summed_over_its_partitions() -> None:
    text = (
        "# HELP rasad_consumer_lag x\n# TYPE rasad_consumer_lag gauge\n"
        'rasad_consumer_lag{group="g",partition="0",topic="raw"} 7.0\n'
        'rasad_consumer_lag{group="g",partition="1",topic="raw"} 5.0\n'
    )
    assert worker_counters(text) == {"lag": 12.0}


# --- a real worker -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unindexed(
    live_stack: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StreamEnv]:
    """A worker whose index setup is missing: its indexer waits, retrying every second."""
    with worker_env(
        live_stack,
        tmp_path_factory.mktemp("lag-worker"),
        setup=False,
        extra_env={"RASAD_INDEXER_BACKOFF_MAX_S": "1"},
    ) as env:
        yield env


def worker_lag(env: StreamEnv) -> dict[str, dict[int, float]]:
    """topic -> partition -> lag of the env's group, as the worker's /metrics page shows it."""
    try:
        page = httpx.get(env.metrics_url, timeout=5)
    except httpx.HTTPError:
        return {}
    out: dict[str, dict[int, float]] = {}
    for family in text_string_to_metric_families(page.text):
        if family.name != "rasad_consumer_lag":
            continue
        for sample in family.samples:
            if sample.labels["group"] == env.app_id:
                topic = out.setdefault(sample.labels["topic"], {})
                topic[int(sample.labels["partition"])] = sample.value
    return out


def test_lag_shows_the_articles_waiting_for_the_index_and_drains_to_zero(
    unindexed: StreamEnv, tmp_path: Path
) -> None:
    env = unindexed
    partitions = env.settings.topic_partitions
    articles = first_corpus_articles(ARTICLES)
    publish(env, articles)

    def enriched_but_not_indexed() -> bool:
        lag = worker_lag(env)
        return sum(lag.get(env.raw, {}).values()) == 0 and (
            sum(lag.get(env.enriched, {}).values()) == ARTICLES
        )

    wait_for(f"raw lag 0 and enriched lag {ARTICLES}", enriched_but_not_indexed)
    lag = worker_lag(env)
    # One worker holds every partition of both topics; tables' changelogs are not reported.
    assert set(lag[env.raw]) == set(lag[env.enriched]) == set(range(partitions))
    assert all(env.tag in topic for topic in lag)
    assert not any("changelog" in topic for topic in lag)

    env.setup(tmp_path)
    wait_for(
        "enriched lag 0 once the index exists",
        lambda: sum(worker_lag(env).get(env.enriched, {"-": -1.0}).values()) == 0,
    )
