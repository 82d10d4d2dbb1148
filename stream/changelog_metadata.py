"""The producer's metadata for a table's changelog topic, fetched before the table's first write.

Faust partitions a write to a table with ``use_partitioner`` eagerly, from the producer's
metadata (``Producer.key_partition``: aiokafka's ``_partition`` lists the topic's partitions),
and aiokafka fetches metadata only for topics it has been asked about. A worker whose producer
started before the changelog topic had leaders (seen on a three-broker cluster) failed every
write with "'NoneType' object is not iterable", so every article went to the dead letters
until a restart.
"""

from __future__ import annotations

from typing import Any, cast

import faust
from aiokafka.errors import KafkaTimeoutError

from rasad.core.logs import get_logger

__all__ = ["know_changelog_partitions"]

log = get_logger(__name__)


async def know_changelog_partitions(app: faust.App, table: Any) -> None:
    """Wait until ``app``'s producer knows ``table``'s changelog partitions (retried, with a
    warning, for as long as the topic has none)."""
    topic = table.changelog_topic.get_topic_name()
    producer = cast(Any, app.producer)._ensure_producer()  # faust 0.15.3: its aiokafka one
    while True:
        try:
            await producer.partitions_for(topic)
            return
        except KafkaTimeoutError:
            log.warning("waiting for a table's changelog topic", topic=topic)
