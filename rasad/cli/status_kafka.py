"""The Kafka part of `rasad status`: brokers, pipeline topics and consumer-group lag, asked
through Kafka's admin API (imported when the probe runs, not when the CLI starts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kafka import KafkaAdminClient, TopicPartition
    from kafka.admin import OffsetSpec

    from rasad.core.settings import Settings

# Kafka admin requests: a live broker answers in milliseconds; a dead one must not hang the
# screen, so bootstrap gives up after this and the part is reported down.
KAFKA_TIMEOUT_MS = 5_000


@dataclass(frozen=True)
class GroupLag:
    group: str
    state: str
    members: int
    lag: int
    topics: tuple[str, ...]


@dataclass(frozen=True)
class KafkaHealth:
    brokers: list[str]
    partitions: dict[str, int]  # pipeline topic -> partitions (missing topics absent)
    messages: dict[str, int]  # pipeline topic -> messages retained (latest - earliest)
    groups: list[GroupLag]


def kafka_health(settings: Settings) -> KafkaHealth:
    """Brokers, the pipeline topics, and the lag of every group consuming one of them."""
    from kafka import KafkaAdminClient, TopicPartition
    from kafka.admin import OffsetSpec

    from rasad.core.kafka import client_config
    from rasad.core.topics import pipeline_topics

    admin = KafkaAdminClient(
        client_id="rasad-status",
        request_timeout_ms=KAFKA_TIMEOUT_MS,
        bootstrap_timeout_ms=KAFKA_TIMEOUT_MS,
        **client_config(settings),
    )
    try:
        brokers = [f"{b['host']}:{b['port']}" for b in admin.describe_cluster()["brokers"]]
        present = set(admin.list_topics())
        names = [t.name for t in pipeline_topics(settings) if t.name in present]
        partitions = {t["name"]: len(t["partitions"]) for t in admin.describe_topics(names)}
        tps = [TopicPartition(t, p) for t, n in partitions.items() for p in range(n)]
        latest = _offsets(admin, tps, OffsetSpec.LATEST)
        earliest = _offsets(admin, tps, OffsetSpec.EARLIEST)
        messages = dict.fromkeys(partitions, 0)
        for tp in tps:
            messages[tp.topic] += latest[tp] - earliest[tp]
        groups = _group_lags(admin, settings, latest, earliest)
        return KafkaHealth(brokers, partitions, messages, groups)
    finally:
        admin.close()


def _offsets(
    admin: KafkaAdminClient, tps: list[TopicPartition], spec: OffsetSpec
) -> dict[TopicPartition, int]:
    if not tps:
        return {}
    found = admin.list_partition_offsets(dict.fromkeys(tps, spec))
    return {tp: int(o.offset) for tp, o in found.items()}


def _group_lags(
    admin: KafkaAdminClient,
    settings: Settings,
    latest: dict[TopicPartition, int],
    earliest: dict[TopicPartition, int],
) -> list[GroupLag]:
    """Lag per group on the pipeline topics. A partition the group never committed counts
    whole (workers start at the earliest offset); the worker group with no commit at all is
    behind on the whole raw topic. Groups of other topics are left out."""
    ids = [g["group_id"] for g in admin.list_groups()]
    committed = admin.list_group_offsets(ids) if ids else {}
    wanted = [
        g
        for g in ids
        if g == settings.stream_app_id or any(tp in latest for tp in committed.get(g) or {})
    ]
    described = admin.describe_groups(wanted) if wanted else {}
    result = []
    for group in wanted:
        offsets = {tp: o.offset for tp, o in (committed.get(group) or {}).items() if tp in latest}
        used = sorted({tp.topic for tp in offsets}) or [settings.topic_raw]
        lag = sum(
            latest[tp] - max(offsets.get(tp, earliest[tp]), earliest[tp])
            for tp in latest
            if tp.topic in used
        )
        info = described.get(group) or {}
        result.append(
            GroupLag(
                group=group,
                state=str(info.get("group_state", "unknown")),
                members=len(info.get("members") or []),
                lag=lag,
                topics=tuple(used),
            )
        )
    return result
