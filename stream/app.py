"""The pipeline wiring: the Faust app, its topics, tables and every agent, in one module.

    raw topic --enrich_articles--> enriched topic --index_articles--> engine (articles)
        \\--(undecodable / failed)             |--(undecodable / refused)--> enriched .dlq
            --> raw .dlq                        \\--(alert hits)--> alert-hits --deliver_alerts-->

Agents only wire: decode, call a stage's pure function or plain sink, send.

Delivery is at least once, and an offset is committed only for work that is done: the
enrichment and indexing agents take messages in batches without Faust's automatic acks
(``noack_take``) and ack each message themselves once its result is handed to the producer
(Faust flushes the producer before every commit) or, for the indexer, once the batch is durable
in the engine (``IndexSink.flush`` returned) and its alert hits are handed to the producer.
``take()`` would ack a batch in a ``finally``, so a batch cut short by a shutdown or a crash
would be committed without having been indexed. A crash replays at most
``stream_commit_interval_s`` / ``stream_commit_every`` of work; downstream writes are idempotent
by article id (and external version), and clustering returns the recorded assignment for an
article it has already seen, so a replay changes nothing.

Dead letters (``<topic>.dlq``; the message key is the original key):

every stage writes the one envelope, :class:`rasad.core.deadletter.DeadLetter` (see
docs/enriched-article.md): the stage, the error, the topic and the original key and value in
base64, the attempts, and for a message read here its partition and offset. A message that
cannot be decoded or enriched, an article the engine refuses (mapping errors), an alert hit
that cannot be delivered: all are published by :func:`_publish_dead_letter`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import MutableMapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import faust
from faust import Stream
from faust.types import EventT, StreamT
from faust.web import Request, Response, View
from mode import BaseSignalT
from prometheus_client import Counter, Histogram, generate_latest

from indexers.alerts.matcher import AlertMatcher
from indexers.alerts.notify import Notifier
from indexers.index.sink import IndexSetupMissing, IndexSink
from rasad.core import backoff
from rasad.core.article import Article, EnrichedArticle, SchemaError
from rasad.core.deadletter import DeadLetter
from rasad.core.engine.client import Engine, wait_for_engine
from rasad.core.logs import get_logger
from rasad.core.settings import get_settings
from stream.changelog_metadata import know_changelog_partitions
from stream.enrich.cluster import ClusterConfig, StoryClusters
from stream.enrich.pipeline import EnrichmentError, enrich
from stream.faust_config import create_app
from stream.lag import register as register_consumer_lag
from stream.reprocess import LiveActivity

log = get_logger(__name__)
A = TypeVar("A", bound=Article)

ENRICHED = Counter("rasad_stream_enriched", "Articles enriched and sent to the enriched topic.")
DEAD_LETTERED = Counter(
    "rasad_stream_dead_lettered", "Messages sent to a dead-letter topic.", ["topic", "stage"]
)
ENRICH_SECONDS = Histogram(
    "rasad_stream_enrich_seconds",
    "Time to enrich one article (language, entities, topics, cluster).",
    # ~2 ms is the per-article budget (500 articles/s per core); the tail shows hostile input.
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0),
)
CLUSTER_ENTRIES_EXPIRED = Counter(
    "rasad_stream_cluster_articles_expired", "Articles forgotten by the clustering window."
)

# Raw messages per enrichment batch (taken unacked, acked one by one as each is sent), and the
# longest the first one waits for the rest: 100 is ~0.5 s of enrichment, so a shutdown waits
# little for the batch in hand; 0.05 s is nothing next to the freshness budget (seconds).
ENRICH_BATCH = 100
ENRICH_BATCH_S = 0.05
_METRICS_CONTENT_TYPE = "text/plain; version=0.0.4"


settings = get_settings()
app = create_app(settings)

raw_topic = app.topic(settings.topic_raw, partitions=settings.topic_partitions)
enriched_topic = app.topic(settings.topic_enriched, partitions=settings.topic_partitions)
raw_dead_letter_topic = app.topic(settings.dead_letter_topic(settings.topic_raw), partitions=1)
live = LiveActivity()


# Same-story state must be seen by every worker: two reports of one story arrive keyed by their
# own ids, so on different partitions, usually consumed by different workers. A GlobalTable is
# replicated in full to every worker through its changelog; each record written is also fed to
# the local LSH index (StoryClusters.observe), during recovery and afterwards. One changelog
# partition keeps the records in one order (and is Faust's documented fix for GlobalTable
# recovery loops with several workers). Two workers that see two reports of one new story within
# the same few milliseconds may found two clusters: accepted, the cost is rare and bounded.
async def _observe_cluster_record(event: EventT[Any]) -> None:
    story_clusters.observe(cast(bytes, event.key), cast(bytes | None, event.value))


cluster_table = app.GlobalTable(
    "story-clusters",
    # bytes in, bytes out: Faust picks its "raw" codec for bytes types (orjson records inside).
    key_type=bytes,
    value_type=bytes,
    partitions=1,
    recovery_buffer_size=1,
    use_partitioner=True,
    on_changelog_event=_observe_cluster_record,
)
story_clusters = StoryClusters(
    cast(MutableMapping[bytes, bytes], cluster_table),
    ClusterConfig(
        window=timedelta(hours=settings.stream_cluster_window_h),
        threshold=settings.stream_cluster_threshold,
        num_perm=settings.stream_cluster_num_perm,
        max_articles=settings.stream_cluster_max_articles,
    ),
)


async def _send_dead_letter(
    event: EventT[Any], stage: str, error: Exception, topic: faust.TopicT = raw_dead_letter_topic
) -> None:
    """A message read from Kafka that failed at ``stage``: its envelope, where it was read."""
    message = event.message
    letter = DeadLetter.of(
        stage,
        message.topic,
        message.key,
        message.value or b"",
        error,
        partition=message.partition,
        offset=message.offset,
        origin=settings.stream_app_id,
    )
    await _publish_dead_letter(letter, topic)


async def _publish_dead_letter(letter: DeadLetter, topic: faust.TopicT) -> None:
    """Every stage's dead letters go out here: the one envelope, keyed by the original key."""
    await topic.send(key=letter.key, value=letter.to_json())
    DEAD_LETTERED.labels(topic=letter.topic, stage=letter.stage).inc()
    log.warning(
        "dead-lettered",
        stage=letter.stage,
        error_type=letter.error_type,
        error=letter.error[:500],
        topic=letter.topic,
        partition=letter.partition,
        offset=letter.offset,
    )


def _batches(stream: StreamT[bytes], size: int, within_s: float) -> Any:
    """``noack_take``: batches of events that stay unacked until the agent acks each one."""
    return cast(Stream[bytes], stream).noack_take(size, within=within_s)


@app.agent(raw_topic, concurrency=settings.stream_agent_concurrency)
async def enrich_articles(stream: StreamT[bytes]) -> None:
    """raw -> enriched; a message that cannot be decoded or enriched goes to the dead letters."""
    await know_changelog_partitions(app, cluster_table)
    async for batch in _batches(stream, ENRICH_BATCH, ENRICH_BATCH_S):
        with live.working():  # the reprocess agent waits until the batch is enriched
            for event in cast(Sequence[EventT[bytes]], batch):
                await _enrich_one(event)
                await stream.ack(event)
                # Enrichment never awaits: without this, a batch held the event loop for its
                # whole length (100 articles: 1 s of CPU, 10 s and more on a loaded machine),
                # and the indexer, offset commits and heartbeats waited behind it.
                await asyncio.sleep(0)


async def _enrich_one(event: EventT[bytes]) -> None:
    try:
        article = _decode(event.value, Article)
    except SchemaError as exc:
        await _send_dead_letter(event, "decode", exc)
        return
    started = time.perf_counter()
    try:
        enriched = enrich(
            article, story_clusters, datetime.now(UTC), settings.stream_enrich_max_chars
        )
    except EnrichmentError as exc:
        await _send_dead_letter(event, f"enrich.{exc.step}", exc.cause)
        return
    ENRICH_SECONDS.observe(time.perf_counter() - started)
    # Not awaiting delivery: the producer batches, and Faust flushes it before any commit.
    await enriched_topic.send(key=article.id.encode(), value=enriched.to_json())
    ENRICHED.inc()


def _decode(value: object, model: type[A]) -> A:
    if not isinstance(value, bytes):  # a tombstone (None) or a non-raw serializer's object
        raise SchemaError(f"expected bytes, got {type(value).__name__}")
    return model.from_json(value)


@app.timer(interval=settings.stream_cluster_sweep_s)  # type: ignore[untyped-decorator]  # Faust's typing
async def expire_clusters() -> None:
    """Forget articles that left the window; the leader also deletes their table records (the
    table is global, so one deleter is enough)."""
    dropped = story_clusters.expire(datetime.now(UTC), delete_from_store=app.is_leader())
    CLUSTER_ENTRIES_EXPIRED.inc(dropped)
    log.info("cluster window swept", forgotten=dropped)


# rasad_consumer_lag{topic,partition,group}, refreshed by a timer (stream/lag.py); the
# reprocess agent waits while this worker is behind on live articles.
lag_gauge = register_consumer_lag(app, settings)
live.use_backlog(lambda: lag_gauge.topic_lag(settings.topic_raw))


@app.page("/metrics")
class Metrics(View):
    """Prometheus metrics of this worker, on Faust's loopback web server."""

    async def get(self, request: Request) -> Response:
        # aiohttp refuses a charset inside content_type; the exposition format is UTF-8 anyway.
        return self.bytes(generate_latest(), content_type=_METRICS_CONTENT_TYPE)


# --- Indexer: enriched -> engine, offsets committed only once a batch is durable --------------
enriched_dead_letter_topic = app.topic(
    settings.dead_letter_topic(settings.topic_enriched), partitions=1
)


async def _index_dead_letter(letter: DeadLetter) -> None:
    await _publish_dead_letter(letter, enriched_dead_letter_topic)


class Indexer:
    """The indexer sink and its engine connection, made on first use and closed on shutdown.

    Connecting (and a missing ``rasad setup``) is retried with the sink's backoff for as long
    as it takes: the agent waits, its batch stays unacked, Kafka keeps the rest.
    """

    def __init__(self) -> None:
        self._engine: Engine | None = None
        self._sink: IndexSink | None = None

    async def sink(self) -> IndexSink:
        if self._sink is None:
            self._engine = await wait_for_engine(
                settings,
                settings.indexer_backoff_initial_s,
                settings.indexer_backoff_max_s,
                waiting="indexer",
            )
            self._sink = IndexSink(self._engine, settings, _index_dead_letter)
        return self._sink

    async def engine(self) -> Engine:
        await self.sink()
        assert self._engine is not None  # set with the sink
        return self._engine

    async def flush(self) -> None:
        """``sink.flush()``, waiting out a missing index setup (an operator's fix) too."""
        sink = await self.sink()
        waits = backoff.delays(settings.indexer_backoff_initial_s, settings.indexer_backoff_max_s)
        while True:
            try:
                await sink.flush()
                return
            except IndexSetupMissing as exc:
                delay = next(waits)
                log.error("indexing waits for the index setup", error=str(exc), retry_in_s=delay)
                await asyncio.sleep(delay)

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.close()
            self._engine = self._sink = None


indexer = Indexer()


@app.agent(enriched_topic)
async def index_articles(stream: StreamT[bytes]) -> None:
    """enriched -> engine and alert-hits; a batch's offsets are acked only once it is durable in
    the engine and its alert hits are handed to the producer.

    One agent reads the enriched topic, so each message goes through one stream buffer and is
    decoded once. With two agents on it (indexing and alert matching, as before), each message
    needed two acks and two buffers shared one per-partition flow control (faust 0.15.3): a
    partition paused because one buffer was full was resumed when the other drained, a full
    buffer then blocked delivery to every partition, and a rebalance that cancelled a message's
    delivery to the second buffer left it acked once, unacked for good (a graceful stop then
    waited on it forever).

    Each batch is finished (bulk + percolation, side by side) in a task that acks its messages
    when both are done, while the agent decodes and buffers the next batch: decoding overlaps
    the engine's work. One batch is in flight at a time: the next starts only after the previous
    one returned, and a failed one (its messages unacked) stops the agent.
    """
    in_flight: asyncio.Future[None] | None = None
    try:
        async for batch in _batches(
            stream, settings.indexer_batch_count, settings.indexer_batch_seconds
        ):
            events = cast(Sequence[EventT[bytes]], batch)
            articles: list[EnrichedArticle] = []
            for event in events:
                try:
                    articles.append(_decode(event.value, EnrichedArticle))
                except SchemaError as exc:
                    await _send_dead_letter(event, "index.decode", exc, enriched_dead_letter_topic)
            sink = await indexer.sink()
            for article in articles:
                sink.buffer(article)
            if in_flight is not None:
                await in_flight
            in_flight = asyncio.ensure_future(_finish_batch(stream, events, articles))
            in_flight.add_done_callback(_log_failed_batch)
    finally:
        # Stopping: a batch still in the engine is abandoned with its messages unacked (replayed).
        if in_flight is not None and not in_flight.done():
            in_flight.cancel()


def _log_failed_batch(done: asyncio.Future[None]) -> None:
    # Logged when it happens: the agent itself raises it only when it takes the next batch.
    if not done.cancelled() and done.exception() is not None:
        log.error("indexing or alert matching failed", error=repr(done.exception()))


async def _finish_batch(
    stream: StreamT[bytes], events: Sequence[EventT[bytes]], articles: Sequence[EnrichedArticle]
) -> None:
    with live.working():  # live articles are indexed before the reprocess goes on
        await asyncio.gather(indexer.flush(), _match_alerts(articles))
    for event in events:
        await stream.ack(event)


@app.on_before_shutdown.connect
async def _close_indexer(sender: Any, /, *_: Any, signal: BaseSignalT[Any], **__: Any) -> None:
    # Sent after the consumer has waited for every taken message to be acked: no flush is left.
    await indexer.close()


# --- Alerts: the indexer's batches -> percolate -> alert-hits -> notifier ----------------------
alert_hits_topic = app.topic(settings.topic_alert_hits, partitions=settings.topic_partitions)
alert_hits_dead_letter_topic = app.topic(
    settings.dead_letter_topic(settings.topic_alert_hits), partitions=1
)
alert_matcher = AlertMatcher(settings)
ALERT_BATCH = settings.alert_percolate_batch


async def _alert_dead_letter(letter: DeadLetter) -> None:
    await _publish_dead_letter(letter, alert_hits_dead_letter_topic)


notifier = Notifier(settings, _alert_dead_letter)


async def _match_alerts(articles: Sequence[EnrichedArticle]) -> None:
    """Percolate a batch (at most ``alert_percolate_batch`` articles per request) and send its
    hits keyed by alert id (one alert's hits stay on one partition)."""
    for start in range(0, len(articles), ALERT_BATCH):
        for hit in await alert_matcher.match_articles(articles[start : start + ALERT_BATCH]):
            await alert_hits_topic.send(key=hit.alert_id.encode(), value=hit.to_json())


@app.agent(alert_hits_topic)
async def deliver_alerts(stream: StreamT[bytes]) -> None:
    """alert-hits -> webhook / email; offsets advance only after the batch is handled."""
    async for values in stream.take(ALERT_BATCH, within=settings.alert_percolate_batch_s):
        for value in values:
            await notifier.add(value)
        await notifier.flush()


@app.timer(interval=settings.alert_digest_check_s)  # type: ignore[untyped-decorator]
async def send_alert_digests() -> None:
    await notifier.send_due_digests()


# The reprocess agent and the taxonomy watch are wired in their own module (this one's size).
from stream import reprocess_agent  # noqa: E402, F401
