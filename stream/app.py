"""The pipeline wiring: the Faust app, its topics, tables and every agent, in one module.

    raw topic --enrich_articles--> enriched topic
        \\--(undecodable / failed)--> raw dead-letter topic

Agents only wire: decode, call a stage's pure function or plain sink, send. Later stages (the
indexer sink, the alert matcher and notifier) are declared here the same way.

Delivery is at least once: Faust commits a message's offset only after the agent has moved past
it, so a crash replays at most ``stream_commit_interval_s`` / ``stream_commit_every`` of work.
Downstream writes are idempotent by article id, and clustering returns the recorded assignment
for an article it has already seen, so a replay changes nothing.

Dead letters (``<raw topic>.dlq``): the message key is the original key; the value is a JSON
envelope (see :class:`DeadLetter` and docs/enriched-article.md) carrying the stage, the error
type and message, the source topic/partition/offset and the original key and value in base64
(base64 because the original may not be UTF-8, and one JSON value is easy to inspect and replay).
"""

from __future__ import annotations

import base64
import time
from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import faust
import orjson
from faust.types import EventT, StreamT
from faust.web import Request, Response, View
from prometheus_client import Counter, Histogram, generate_latest
from pydantic import AwareDatetime, BaseModel, ConfigDict

from indexers.alerts import AlertMatcher
from indexers.notify import Notifier
from rasad.article import Article, SchemaError
from rasad.kafka_config import bootstrap_servers, ssl_context
from rasad.logs import get_logger
from rasad.settings import Settings, get_settings
from stream.enrich.cluster import ClusterConfig, StoryClusters
from stream.enrich.pipeline import EnrichmentError, enrich

log = get_logger(__name__)

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

# How often cluster state older than the window is dropped: a sweep walks the whole state, and
# entries past the window are already ignored on read, so hourly only bounds memory.
CLUSTER_EXPIRY_INTERVAL_S = 3600.0
_METRICS_CONTENT_TYPE = "text/plain; version=0.0.4"


class DeadLetter(BaseModel):
    """The value of a dead-letter message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str
    error_type: str
    error: str
    topic: str
    partition: int
    offset: int
    key_b64: str | None
    value_b64: str
    failed_at: AwareDatetime
    app_id: str


def _credentials(settings: Settings) -> faust.SASLCredentials | faust.SSLCredentials | None:
    context = ssl_context(settings)
    if settings.kafka_sasl_mechanism:
        password = settings.kafka_sasl_password
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password else None,
            ssl_context=context,
            mechanism=settings.kafka_sasl_mechanism,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def create_app(settings: Settings) -> faust.App:
    """The Faust app configured from settings (one per process; see ``app`` below)."""
    return faust.App(
        settings.stream_app_id,
        broker=[f"kafka://{server}" for server in bootstrap_servers(settings)],
        broker_credentials=_credentials(settings),
        # Values are the article schema's own JSON (orjson, rasad/article.py): Faust moves bytes.
        key_serializer="raw",
        value_serializer="raw",
        # Every topic Faust creates (changelogs) gets the pipeline's partition count; pipeline
        # topics are pre-created by rasad.topics.ensure_topics with the same counts.
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.kafka_replication_factor,
        stream_buffer_maxsize=settings.stream_buffer_maxsize,
        broker_commit_interval=settings.stream_commit_interval_s,
        broker_commit_every=settings.stream_commit_every,
        # Wait up to 5 ms to batch sends to one partition: several articles per produce request
        # instead of one, at a latency cost far below the alerts' 2 s budget.
        producer_linger=0.005,
        # A new consumer group starts at the beginning: articles published before the first
        # worker started must be enriched too.
        consumer_auto_offset_reset="earliest",
        # Tables live in memory and are rebuilt from their changelog topic on start; the data
        # dir only holds Faust's small bookkeeping files.
        store="memory://",
        datadir=settings.stream_data_dir,
        web_enabled=True,
        web_bind=settings.worker_web_host,
        web_host=settings.worker_web_host,
        web_port=settings.worker_web_port,
        # JSON log lines stay JSON: no print() is captured into the log.
        worker_redirect_stdouts=False,
        autodiscover=False,
    )


settings = get_settings()
app = create_app(settings)

raw_topic = app.topic(settings.topic_raw, partitions=settings.topic_partitions)
enriched_topic = app.topic(settings.topic_enriched, partitions=settings.topic_partitions)
raw_dead_letter_topic = app.topic(settings.dead_letter_topic(settings.topic_raw), partitions=1)


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
    ),
)


def dead_letter(event: EventT[Any], stage: str, error: Exception) -> DeadLetter:
    """The dead-letter record of a message that failed at ``stage``."""
    message = event.message
    key = message.key
    value = message.value or b""
    return DeadLetter(
        stage=stage,
        error_type=type(error).__name__,
        error=str(error),
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key_b64=base64.b64encode(key).decode() if key is not None else None,
        value_b64=base64.b64encode(value).decode(),
        failed_at=datetime.now(UTC),
        app_id=settings.stream_app_id,
    )


async def _send_dead_letter(event: EventT[Any], stage: str, error: Exception) -> None:
    record = dead_letter(event, stage, error)
    await raw_dead_letter_topic.send(
        key=event.message.key, value=orjson.dumps(record.model_dump(mode="json"))
    )
    DEAD_LETTERED.labels(topic=event.message.topic, stage=stage).inc()
    log.warning(
        "dead-lettered",
        stage=stage,
        error_type=record.error_type,
        error=record.error[:500],
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
    )


@app.agent(raw_topic, concurrency=settings.stream_agent_concurrency)
async def enrich_articles(stream: StreamT[bytes]) -> None:
    """raw -> enriched; a message that cannot be decoded or enriched goes to the dead letters."""
    async for event in stream.events():
        try:
            article = _decode(event.value)
        except SchemaError as exc:
            await _send_dead_letter(event, "decode", exc)
            continue
        started = time.perf_counter()
        try:
            enriched = enrich(article, story_clusters, datetime.now(UTC))
        except EnrichmentError as exc:
            await _send_dead_letter(event, f"enrich.{exc.step}", exc.cause)
            continue
        ENRICH_SECONDS.observe(time.perf_counter() - started)
        await enriched_topic.send(key=article.id.encode(), value=enriched.to_json())
        ENRICHED.inc()


def _decode(value: object) -> Article:
    if not isinstance(value, bytes):  # a tombstone (None) or a non-raw serializer's object
        raise SchemaError(f"expected bytes, got {type(value).__name__}")
    return Article.from_json(value)


@app.timer(interval=CLUSTER_EXPIRY_INTERVAL_S)  # type: ignore[untyped-decorator]  # Faust's typing
async def expire_clusters() -> None:
    """Forget articles that left the window; the leader also deletes their table records (the
    table is global, so one deleter is enough)."""
    dropped = story_clusters.expire(datetime.now(UTC), delete_from_store=app.is_leader())
    CLUSTER_ENTRIES_EXPIRED.inc(dropped)
    log.info("cluster window swept", forgotten=dropped)


@app.page("/metrics")
class Metrics(View):
    """Prometheus metrics of this worker, on Faust's loopback web server."""

    async def get(self, request: Request) -> Response:
        # aiohttp refuses a charset inside content_type; the exposition format is UTF-8 anyway.
        return self.bytes(generate_latest(), content_type=_METRICS_CONTENT_TYPE)


# --- Alerts: enriched -> percolate in batches -> alert-hits -> notifier ------------------------
alert_hits_topic = app.topic(settings.topic_alert_hits, partitions=settings.topic_partitions)
alert_hits_dead_letter_topic = app.topic(
    settings.dead_letter_topic(settings.topic_alert_hits), partitions=1
)
alert_matcher = AlertMatcher(settings)
ALERT_BATCH = settings.alert_percolate_batch


async def _alert_dead_letter(key: bytes, value: bytes) -> None:
    await alert_hits_dead_letter_topic.send(key=key, value=value)


notifier = Notifier(settings, _alert_dead_letter)


@app.agent(enriched_topic)
async def match_alerts(stream: StreamT[bytes]) -> None:
    """enriched -> alert-hits, keyed by alert id (one alert's hits stay on one partition)."""
    async for values in stream.take(ALERT_BATCH, within=settings.alert_percolate_batch_s):
        for hit in await alert_matcher.match(values):
            await alert_hits_topic.send(key=hit.alert_id.encode(), value=hit.to_json())


@app.agent(alert_hits_topic)
async def deliver_alerts(stream: StreamT[bytes]) -> None:
    """alert-hits -> webhook / email; offsets advance only after the batch is handled."""
    async for values in stream.take(ALERT_BATCH, within=settings.alert_percolate_batch_s):
        for value in values:
            notifier.add(value)
        await notifier.flush()


@app.timer(interval=settings.alert_digest_check_s)  # type: ignore[untyped-decorator]
async def send_alert_digests() -> None:
    await notifier.send_due_digests()
