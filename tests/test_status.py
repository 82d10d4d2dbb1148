"""`rasad status` reports every part, computes consumer lag from real offsets, and says DOWN."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from rasad.cli.status import collect, kafka_health, render, worker_counters
from rasad.core.kafka import client_config
from rasad.core.settings import Settings
from rasad.core.topics import ensure_topics
from tests.stream_fixtures import StreamEnv


def test_lag_counts_what_a_group_has_not_committed(live_stack: Settings) -> None:
    env = StreamEnv(live_stack)
    settings = live_stack.model_copy(
        update={"topic_raw": env.raw, "topic_enriched": env.enriched, "stream_app_id": env.app_id}
    )
    group = f"rasad-status-test-{uuid.uuid4().hex[:8]}"
    try:
        ensure_topics(settings)
        producer = KafkaProducer(acks="all", **client_config(settings))
        for i in range(5):
            producer.send(env.raw, key=b"k", value=b"%d" % i, partition=0)
        producer.close()
        consumer = KafkaConsumer(group_id=group, **client_config(settings))
        consumer.commit({TopicPartition(env.raw, 0): OffsetAndMetadata(2, "", -1)})
        consumer.close()

        health = kafka_health(settings)

        assert health.partitions[env.raw] == settings.topic_partitions
        assert health.messages[env.raw] == 5
        (lag,) = [g for g in health.groups if g.group == group]
        assert lag.lag == 3 and lag.topics == (env.raw,)
    finally:
        env.delete_topics()


def test_every_part_has_a_row_and_down_parts_fail_the_command(live_stack: Settings) -> None:
    parts = collect(live_stack)
    names = [p.name for p in parts]
    assert {"kafka", "engine", "feeds", "worker", "consumer lag", "dead letters", "web app"} <= set(
        names
    )
    assert next(p for p in parts if p.name == "kafka").ok is not False
    assert render(parts).row_count == len(parts)

    down = subprocess.run(
        [sys.executable, "-m", "rasad.cli", "status"],
        env={**os.environ, "RASAD_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert down.returncode == 1
    assert "DOWN" in down.stdout


def test_worker_counters_sum_outcomes_from_prometheus_text() -> None:
    text = (
        "# HELP rasad_stream_enriched_total x\n# TYPE rasad_stream_enriched_total counter\n"
        "rasad_stream_enriched_total 12.0\n"
        "# HELP rasad_indexer_documents_total x\n# TYPE rasad_indexer_documents_total counter\n"
        'rasad_indexer_documents_total{outcome="indexed"} 10.0\n'
        'rasad_indexer_documents_total{outcome="stale"} 2.0\n'
    )
    assert worker_counters(text) == {
        "enriched": 12.0,
        "indexer indexed": 10.0,
        "indexer stale": 2.0,
    }
