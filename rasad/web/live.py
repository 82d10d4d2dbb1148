"""The live stream: one Kafka consumer per web process, fanned out to every SSE client.

The consumer has no group (``group_id=None``): it reads every partition of the enriched and
alert-hit topics from their end, commits nothing, and so never takes partitions from the
pipeline's own consumers or from another web process. Each client has a bounded queue; when a
client reads too slowly its oldest events are dropped (and counted), so one slow browser can
never hold up the others or grow memory without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from prometheus_client import Counter, Gauge

from indexers.alerts.model import AlertHit
from rasad.core.article import EnrichedArticle, SchemaError
from rasad.core.kafka import client_config
from rasad.core.logs import get_logger
from rasad.core.settings import Settings

log = get_logger(__name__)

LIVE_EVENTS = Counter("rasad_web_live_events_total", "Live events read from Kafka", ["type"])
LIVE_UNDECODABLE = Counter(
    "rasad_web_live_undecodable_total", "Live messages that were not valid JSON of their topic"
)
LIVE_DROPPED = Counter(
    "rasad_web_live_dropped_total", "Live events dropped for clients that read too slowly"
)
LIVE_CLIENTS = Gauge("rasad_web_live_clients", "Open live (SSE) streams")
LIVE_CONNECTED = Gauge("rasad_web_live_kafka_connected", "1 while the live consumer is connected")

# Pause before reconnecting to a broker that went away: quick recovery, no busy loop.
RECONNECT_S = 2.0
# Titles in the live list are a glance; the full article is one click away.
SUMMARY_CHARS = 300


class TooManyClients(RuntimeError):
    """The live stream already serves web_sse_max_clients clients."""


@dataclass
class LiveEvent:
    type: str
    data: dict[str, Any]


@dataclass(eq=False)  # identity, so clients can live in a set
class _Client:
    queue: asyncio.Queue[LiveEvent]
    dropped: int = field(default=0)


def article_event(value: bytes) -> LiveEvent:
    """The small dict a browser needs to list a new article (raises SchemaError on bad bytes)."""
    article = EnrichedArticle.from_json(value)
    return LiveEvent(
        "article",
        {
            "id": article.id,
            "title": article.title,
            "summary": article.summary[:SUMMARY_CHARS],
            "url": article.url,
            "source": {"id": article.source.id, "name": article.source.name},
            "published_at": article.published_at.isoformat(),
            "topics": [t.tag for t in article.topics],
            "cluster_id": article.cluster.id if article.cluster else None,
        },
    )


def alert_hit_event(value: bytes) -> LiveEvent:
    """An alert hit exactly as the alert agent emits it and the notifier reads it
    (:class:`~indexers.alerts.model.AlertHit`; raises SchemaError on anything else)."""
    return LiveEvent("alert_hit", AlertHit.from_json(value).model_dump(mode="json"))


class LiveHub:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._clients: set[_Client] = set()
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="rasad-live-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _decode(self, topic: str, value: bytes | None) -> LiveEvent | None:
        if value is None:
            return None
        decode = article_event if topic == self.settings.topic_enriched else alert_hit_event
        try:
            return decode(value)
        except SchemaError as exc:
            LIVE_UNDECODABLE.inc()
            log.warning("live_message_undecodable", topic=topic, error=str(exc)[:200])
            return None

    def publish(self, event: LiveEvent) -> None:
        LIVE_EVENTS.labels(event.type).inc()
        for client in self._clients:
            if client.queue.full():
                client.queue.get_nowait()
                client.dropped += 1
                LIVE_DROPPED.inc()
            client.queue.put_nowait(event)

    async def _consume_once(self) -> None:
        consumer = AIOKafkaConsumer(
            self.settings.topic_enriched,
            self.settings.topic_alert_hits,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            client_id="rasad-web-live",
            **client_config(self.settings),
        )
        try:
            await consumer.start()
            LIVE_CONNECTED.set(1)
            self.connected.set()
            async for message in consumer:
                event = self._decode(message.topic, message.value)
                if event is not None:
                    self.publish(event)
        finally:
            LIVE_CONNECTED.set(0)
            self.connected.clear()
            await consumer.stop()

    async def _run(self) -> None:
        while True:
            try:
                await self._consume_once()
            except KafkaError as exc:
                log.warning("live_consumer_error", error=str(exc))
            await asyncio.sleep(RECONNECT_S)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[LiveEvent]]:
        if len(self._clients) >= self.settings.web_sse_max_clients:
            raise TooManyClients(f"{len(self._clients)} live streams are already open")
        client = _Client(asyncio.Queue(maxsize=self.settings.web_sse_queue))
        self._clients.add(client)
        LIVE_CLIENTS.inc()
        try:
            yield client.queue
        finally:
            self._clients.discard(client)
            LIVE_CLIENTS.dec()
