"""Every Kafka topic of the pipeline, in one place, so the whole flow reads in one file.

producers --raw--> enrichment agent --enriched--> indexer sink   -> engine (articles)
                                           \\----> alert matcher --alert_hits--> notifier
each stage's undecodable/rejected messages -> <topic>.dlq (original bytes + error)
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from kafka.admin import KafkaAdminClient, NewPartitions, NewTopic
from kafka.errors import TopicAlreadyExistsError

from rasad.core.kafka import client_config
from rasad.core.settings import Settings


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    purpose: str
    config: tuple[tuple[str, str], ...] = ()


# Dead-letter topics keep their messages a month: long enough for someone to notice and replay.
DEAD_LETTER_RETENTION_MS = str(30 * 24 * 3600 * 1000)


def pipeline_topics(settings: Settings) -> list[TopicSpec]:
    """All topics Rasad needs, with the partition counts the Faust agents expect."""
    n = settings.topic_partitions
    main = [
        TopicSpec(settings.topic_raw, n, "articles as fetched, keyed by article id"),
        TopicSpec(settings.topic_enriched, n, "articles with entities, tags and cluster"),
        TopicSpec(settings.topic_alert_hits, n, "alert matches waiting for delivery"),
        TopicSpec(settings.topic_reprocess, n, "stored articles to re-enrich (rasad reprocess)"),
    ]
    dead = [
        TopicSpec(
            settings.dead_letter_topic(t.name),
            1,
            f"dead letters of {t.name}",
            (("retention.ms", DEAD_LETTER_RETENTION_MS),),
        )
        for t in main
    ]
    return main + dead


class TopicMismatchError(RuntimeError):
    """A topic exists with a partition count other than the one the agents expect."""


def ensure_topics(settings: Settings) -> list[str]:
    """Create missing topics; return the names created. Safe to run on every start.

    An existing topic with fewer partitions than configured is grown (Kafka can add partitions,
    never remove them); one with more is an error, because Faust would crash on the mismatch.
    """
    specs = pipeline_topics(settings)
    admin = KafkaAdminClient(client_id="rasad-setup", **client_config(settings))
    try:
        existing = {
            t["name"]: len(t["partitions"])  # kafka-python 3.x names the key "name"
            for t in admin.describe_topics([s.name for s in specs if s.name in admin.list_topics()])
        }
        missing = [s for s in specs if s.name not in existing]
        created: list[str] = []
        if missing:
            new = [
                NewTopic(
                    s.name,
                    num_partitions=s.partitions,
                    replication_factor=settings.kafka_replication_factor,
                    topic_configs={
                        "min.insync.replicas": str(settings.kafka_min_insync_replicas),
                        **dict(s.config),
                    },
                )
                for s in missing
            ]
            # Another process may create one between our listing and our request: that's fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(new)
            created = [s.name for s in missing]
        grow: dict[str, NewPartitions] = {}
        for s in specs:
            have = existing.get(s.name)
            if have is None or have == s.partitions:
                continue
            if have > s.partitions:
                raise TopicMismatchError(
                    f"topic {s.name} has {have} partitions but RASAD_TOPIC_PARTITIONS is "
                    f"{s.partitions}; set it to {have} (Kafka cannot remove partitions)"
                )
            grow[s.name] = NewPartitions(total_count=s.partitions)
        if grow:
            admin.create_partitions(grow)
        return created
    finally:
        admin.close()
