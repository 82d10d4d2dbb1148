"""Consumer lag of this worker as a Prometheus gauge: ``rasad_consumer_lag{topic,partition,group}``.

Lag of a partition = its end offset (the highwater: the offset the next message will get) minus
the group's committed offset (the next message the group still has to finish). That is what
``kafka-consumer-groups --describe`` and ``rasad status`` call lag: work not yet done, including
messages fetched and buffered but not acked.

The assignment comes from the worker's own consumer, the end offsets from one ListOffsets request
for all assigned partitions per tick (the fetcher's cached highwater goes stale on a paused
partition, exactly when lag grows), and the committed offsets from one OffsetFetch request to the
group's coordinator: the group's own record, right from the first tick. Faust's in-process copy
is empty until its first seek after an assignment (a restarted worker recovering a large table
can take minutes) and after a revocation; counting from the earliest offset meanwhile made a
restarted worker report its whole retained history as lag, and the reprocess agent, which waits
while the raw-topic lag is high, wait for as long. Only a partition the group never committed
counts from its earliest offset: a new group starts there (``consumer_auto_offset_reset=
"earliest"``), so that history is real work. Changelog topics of tables are left out: they are
read for recovery and never committed. Each worker reports only the partitions assigned to it; a
partition handed to another worker leaves this worker's gauge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import faust
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from faust.exceptions import ConsumerNotStarted
from faust.types import TP
from prometheus_client import Counter, Gauge

from rasad.core.kafka import client_config
from rasad.core.logs import get_logger
from rasad.core.settings import Settings

log = get_logger(__name__)

CONSUMER_LAG = Gauge(
    "rasad_consumer_lag",
    "Messages not yet processed and committed, per assigned topic-partition of this worker.",
    ["topic", "partition", "group"],
)
LAG_CHECK_FAILURES = Counter(
    "rasad_consumer_lag_check_failures",
    "Lag measurements that failed (broker unreachable, consumer not started or rebalancing).",
)

# Seconds between measurements: a Prometheus scrape is typically every 15 s, and one ListOffsets
# request per tick costs the broker nothing, so 5 s keeps the gauge fresh for any scrape.
LAG_INTERVAL_S = 5.0


def partition_lags(
    assigned: Iterable[TP],
    end_offsets: Mapping[TP, int | None],
    committed: Mapping[TP, int | None],
    earliest: Mapping[TP, int | None],
) -> dict[TP, int]:
    """Lag per partition: end offset minus the committed offset, or minus the earliest offset
    when the group never committed. A partition with an unknown end (or start) is left out
    rather than reported as a guess. Never negative (an end offset read just before a commit)."""
    lags: dict[TP, int] = {}
    for tp in assigned:
        end = end_offsets.get(tp)
        start = committed.get(tp)
        if start is None:
            start = earliest.get(tp)
        if end is None or start is None:
            continue
        lags[tp] = max(0, end - start)
    return lags


class LagGauge:
    """The gauge's series of one consumer group; series of partitions no longer reported are
    removed, so a revoked partition does not show a frozen value."""

    def __init__(self, group: str) -> None:
        self.group = group
        self._shown: set[TP] = set()
        self._lags: dict[TP, int] = {}

    def topic_lag(self, topic: str) -> int:
        """This worker's lag on ``topic`` at the last measurement (the reprocess agent waits
        while live articles are behind)."""
        return sum(lag for tp, lag in self._lags.items() if tp.topic == topic)

    def show(self, lags: Mapping[TP, int]) -> None:
        for tp, lag in lags.items():
            CONSUMER_LAG.labels(topic=tp.topic, partition=str(tp.partition), group=self.group).set(
                lag
            )
        for tp in self._shown - set(lags):
            CONSUMER_LAG.remove(tp.topic, str(tp.partition), self.group)
        self._shown = set(lags)
        self._lags = dict(lags)


class CommittedOffsets:
    """The group's committed offsets, read from its coordinator (a client of its own, started on
    first use and kept: one OffsetFetch per tick)."""

    def __init__(self, settings: Settings, group: str) -> None:
        self._settings = settings
        self._group = group
        self._admin: AIOKafkaAdminClient | None = None

    async def read(self, partitions: Iterable[TP]) -> dict[TP, int | None]:
        """Committed offset per partition; None where the group never committed."""
        if self._admin is None:
            admin = AIOKafkaAdminClient(
                client_id=f"{self._group}-lag", **client_config(self._settings)
            )
            await admin.start()
            self._admin = admin
        wanted = [TopicPartition(tp.topic, tp.partition) for tp in partitions]
        found = await self._admin.list_consumer_group_offsets(self._group, partitions=wanted)
        offsets = {TP(tp.topic, tp.partition): meta.offset for tp, meta in found.items()}
        # -1: the group has no offset for the partition.
        return {TP(tp.topic, tp.partition): _known(offsets.get(tp)) for tp in wanted}

    async def close(self) -> None:
        if self._admin is not None:
            await self._admin.close()
            self._admin = None


def _known(offset: int | None) -> int | None:
    return offset if offset is not None and offset >= 0 else None


async def measure(app: faust.App, committed_offsets: CommittedOffsets) -> dict[TP, int]:
    """The lag of every partition the app's consumer is assigned, changelogs excepted."""
    consumer = app.consumer
    changelogs = app.tables.changelog_topics
    assigned = [tp for tp in consumer.assignment() if tp.topic not in changelogs]
    if not assigned:
        return {}
    end_offsets = await consumer.highwaters(*assigned)
    committed = await committed_offsets.read(assigned)
    never = [tp for tp in assigned if committed[tp] is None]
    earliest = await consumer.earliest_offsets(*never) if never else {}
    return partition_lags(assigned, end_offsets, committed, earliest)


def register(app: faust.App, settings: Settings) -> LagGauge:
    """Add the timer that keeps ``rasad_consumer_lag`` current for this worker's group."""
    gauge = LagGauge(app.conf.id)
    committed = CommittedOffsets(settings, app.conf.id)

    @app.timer(interval=LAG_INTERVAL_S)  # type: ignore[untyped-decorator]  # Faust's typing
    async def report_consumer_lag() -> None:
        try:
            lags = await measure(app, committed)
        except (ConsumerNotStarted, KafkaError, TimeoutError) as exc:
            # The next tick tries again; the gauge keeps its last values meanwhile.
            LAG_CHECK_FAILURES.inc()
            log.warning("consumer lag not measured", error_type=type(exc).__name__, error=str(exc))
            return
        gauge.show(lags)

    @app.on_before_shutdown.connect
    async def close_offsets_client(sender: Any, /, *_: Any, **__: Any) -> None:
        await committed.close()

    return gauge
