"""The Faust app's configuration, from settings: brokers, credentials, serializers, batching."""

from __future__ import annotations

import math

import faust
from faust.types import TransportT

from rasad.core.kafka import bootstrap_servers, ssl_context
from rasad.core.settings import Settings
from stream.faust_consumer import Transport

# Producer batch per partition: enriched articles are ~9 KB of JSON, so Faust's default (16 KB)
# sends about one article per produce request; 512 KB carries ~55 and stays well under the
# broker's default record-batch cap (message.max.bytes, ~1 MB).
PRODUCER_MAX_BATCH_BYTES = 512_000


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


# mode's flow control stops fetching a partition once its topic's stream buffer holds
# maxsize / 1.25 records (FlowControlQueue.pressure_high_ratio), but the drain under way still
# delivers every record it took from the fetcher, and a full buffer makes Faust wait for that one
# agent before it delivers anything else. Unbounded, a drain held ~8 MB per partition
# (stream_fetch_max_bytes: hundreds of reprocess requests), filled the reprocess agent's buffer,
# and live articles then waited behind reprocess work (seconds to minutes).
PRESSURE_HIGH_RATIO = 1.25


def max_poll_records(buffer_maxsize: int) -> int:
    """Records per drain: the headroom above flow control's pause point, so no buffer fills."""
    return max(1, buffer_maxsize - math.floor(buffer_maxsize / PRESSURE_HIGH_RATIO))


class App(faust.App):
    """Faust's app on the worker's own transport (:mod:`stream.faust_consumer`)."""

    def _new_transport(self) -> TransportT:
        return Transport(self.conf.broker_consumer, self)


def create_app(settings: Settings) -> faust.App:
    """The Faust app configured from settings (one per process; see ``app`` below)."""
    return App(
        settings.stream_app_id,
        broker=[f"kafka://{server}" for server in bootstrap_servers(settings)],
        broker_credentials=_credentials(settings),
        # Values are the article schema's own JSON (orjson, rasad/core/article.py);
        # Faust moves bytes.
        key_serializer="raw",
        value_serializer="raw",
        # Every topic Faust creates (changelogs) gets the pipeline's partition count; pipeline
        # topics are pre-created by rasad.core.topics.ensure_topics with the same counts.
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.kafka_replication_factor,
        stream_buffer_maxsize=settings.stream_buffer_maxsize,
        broker_max_poll_records=max_poll_records(settings.stream_buffer_maxsize),
        # At least Kafka's default largest message (1 MB): per partition, so the worst case is
        # partitions x topics x this, ~100 MB at the defaults.
        consumer_max_fetch_size=settings.stream_fetch_max_bytes,
        broker_commit_interval=settings.stream_commit_interval_s,
        broker_commit_every=settings.stream_commit_every,
        # Wait up to 5 ms to batch sends to one partition: several articles per produce request
        # instead of one, at a latency cost far below the alerts' 2 s budget.
        producer_linger=0.005,
        producer_max_batch_size=PRODUCER_MAX_BATCH_BYTES,
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
