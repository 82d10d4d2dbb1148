"""Pipeline settings: Kafka, the topics, and the Faust worker and its stream agents.

Fields read ``RASAD_<FIELD NAME>``; they are combined in :class:`rasad.core.settings.Settings`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class PipelineSettings(BaseModel):
    # --- Kafka ---------------------------------------------------------------------------------
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        description="Comma-separated Kafka brokers; the local stack listens on loopback only.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT",
        description="PLAINTEXT for the local stack; SSL or SASL_SSL for a real cluster.",
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="SASL mechanism when the protocol is SASL_*; None disables SASL."
    )
    kafka_sasl_username: str | None = Field(None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(
        None, description="SASL password; never logged or printed."
    )
    kafka_ssl_cafile: Path | None = Field(
        None, description="CA bundle that signed the brokers' certificates (SSL/SASL_SSL)."
    )
    kafka_ssl_certfile: Path | None = Field(
        None, description="Client certificate for mutual TLS, if the cluster requires it."
    )
    kafka_ssl_keyfile: Path | None = Field(
        None, description="Private key of the client certificate."
    )
    kafka_replication_factor: int = Field(
        1, ge=1, description="Replicas per topic: 1 on a single local broker, 3 in production."
    )
    kafka_min_insync_replicas: int = Field(
        1,
        ge=1,
        description="Copies that must have a write before it is acknowledged (acks=all): 2 of 3 "
        "lets one broker die without losing or refusing anything.",
    )

    # --- Topics --------------------------------------------------------------------------------
    topic_raw: str = Field(
        "rasad.articles.raw", description="Articles as fetched from feeds, keyed by article id."
    )
    topic_enriched: str = Field(
        "rasad.articles.enriched", description="Articles with language, entities, tags, cluster."
    )
    topic_reprocess: str = Field(
        "rasad.articles.reprocess",
        description="Stored articles to re-enrich (rasad reprocess); read after live articles.",
    )
    topic_alert_hits: str = Field(
        "rasad.alerts.hits", description="One message per (alert, article) match to deliver."
    )
    topic_dead_letter_suffix: str = Field(
        ".dlq", description="Appended to a topic name to name its dead-letter topic."
    )
    topic_partitions: int = Field(
        4,
        ge=1,
        description="Partitions per pipeline topic: the most workers that can share one stage.",
    )

    # --- Faust worker --------------------------------------------------------------------------
    worker_web_port: int = Field(
        6066,
        ge=1,
        le=65535,
        description="Faust's own web server (metrics, health), bound to worker_web_host.",
    )
    worker_web_host: str = Field(
        "127.0.0.1", description="Faust binds 0.0.0.0 by default; loopback unless you need more."
    )

    # --- Stream (Faust enrichment agents, stream/app.py) ---------------------------------------
    stream_app_id: str = Field(
        "rasad-stream",
        description="Faust app id: the consumer group and the prefix of its changelog topics.",
    )
    stream_buffer_maxsize: int = Field(
        1000,
        ge=1,
        description="Messages buffered per partition before fetching pauses; ~2 s of work.",
    )
    stream_fetch_max_bytes: int = Field(
        8 * 1024 * 1024,
        ge=1024 * 1024,
        description="Bytes fetched per partition per request; Faust's 1 MB (~240 enriched "
        "articles) starved the indexer's 500-article batches (bench_indexer: 0.65 -> 0.84).",
    )
    stream_commit_interval_s: float = Field(
        1.0,
        gt=0,
        description="Offset commit period: at most this much work is replayed after a crash.",
    )
    stream_commit_every: int = Field(
        1000,
        ge=1,
        description="Also commit after this many messages, so a burst replays little.",
    )
    stream_agent_concurrency: int = Field(
        1,
        ge=1,
        description="Agent instances per worker; enrichment is CPU-bound, so scale by workers.",
    )
    stream_cluster_window_h: float = Field(
        72.0,
        gt=0,
        description="Hours an article stays joinable as the same story (sliding window).",
    )
    stream_cluster_threshold: float = Field(
        0.3,
        gt=0,
        le=1,
        description="Content-word Jaccard at which two articles are one story (corpus-measured).",
    )
    stream_cluster_num_perm: int = Field(
        128,
        ge=16,
        description="MinHash permutations: Jaccard error ~0.04 at 128; costs memory per article.",
    )
    stream_cluster_max_articles: int = Field(
        200_000,
        ge=1,
        description="Articles the clustering window keeps at most (~6-10 KB each in memory); "
        "the oldest leave first, at the next sweep.",
    )
    stream_cluster_sweep_s: float = Field(
        3600.0,
        gt=0,
        description="Seconds between sweeps of the clustering window: at most "
        "stream_cluster_max_articles plus this long's articles are held. A sweep walks the "
        "whole window, and articles past its span are ignored on read before they are swept.",
    )
    stream_enrich_max_chars: int = Field(
        200_000,
        ge=1000,
        description="Characters of title, summary and body enriched; longer text is cut and "
        "body_kind says truncated. 200k (~400 KB of Arabic) is beyond any news article.",
    )
    stream_taxonomy_path: str | None = Field(
        None,
        description="Taxonomy file the workers use instead of the shipped one; watched, so an "
        "edit applies without a restart once it validates (a bad edit is refused, logged).",
    )
    stream_taxonomy_check_s: float = Field(
        5.0,
        gt=0,
        description="How often workers look for a changed taxonomy file: a stat, nearly free.",
    )
