"""One frozen settings object for every Rasad process.

Each field reads the environment variable ``RASAD_<FIELD NAME>``; an optional YAML file named by
``RASAD_CONFIG`` (or passed to :func:`load_settings`) overrides the defaults, and the environment
overrides the file. The field description is the one-line reason shown in the README table.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

ENV_PREFIX = "RASAD_"
CONFIG_ENV = "RASAD_CONFIG"


class ConfigFileError(ValueError):
    """The YAML config file is missing, unreadable or not a mapping of setting names."""


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rasad"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        frozen=True,
        extra="forbid",
        validate_default=True,
    )

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

    # --- Topics --------------------------------------------------------------------------------
    topic_raw: str = Field(
        "rasad.articles.raw", description="Articles as fetched from feeds, keyed by article id."
    )
    topic_enriched: str = Field(
        "rasad.articles.enriched", description="Articles with language, entities, tags, cluster."
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

    # --- Search engine -------------------------------------------------------------------------
    engine_url: str = Field(
        "http://127.0.0.1:9200", description="Elasticsearch or OpenSearch HTTP endpoint."
    )
    engine_kind: Literal["auto", "opensearch", "elasticsearch"] = Field(
        "auto", description="Which client to use; auto asks the cluster's GET / once at start."
    )
    engine_username: str | None = Field(None, description="Basic-auth user for the engine.")
    engine_password: SecretStr | None = Field(
        None, description="Basic-auth password; never logged or printed."
    )
    engine_api_key: SecretStr | None = Field(
        None, description="Elasticsearch API key (base64 id:key); used instead of basic auth."
    )
    engine_ca_certs: Path | None = Field(
        None, description="CA bundle for an https engine URL with a private CA."
    )
    engine_verify_certs: bool = Field(
        True, description="Turn off only for a throwaway cluster with self-signed certificates."
    )
    engine_timeout_s: float = Field(
        30.0, gt=0, description="Per-request timeout; bulk requests of a few MB fit well inside."
    )
    engine_pool_size: int = Field(
        32,
        ge=1,
        description="Connections one engine client keeps open: at least its concurrent requests "
        "(web clients, agents), or callers queue in the client and a few wait for seconds.",
    )

    # --- Indices and aliases -------------------------------------------------------------------
    index_prefix: str = Field(
        "rasad", description="Prefix of every index, template and alias Rasad creates."
    )
    index_refresh_interval: str = Field(
        "1s", description="How soon a new article is searchable; longer trades freshness for speed."
    )
    index_shards: int = Field(
        1, ge=1, description="Primary shards per yearly article index; 1 per ~30 GB of data."
    )
    index_replicas: int = Field(
        0, ge=0, description="Replica shards; 0 on a single local node (else it stays yellow)."
    )

    # --- Indexer (bulk sink into the engine) ---------------------------------------------------
    indexer_batch_count: int = Field(
        500, ge=1, description="Articles per bulk request; ~500 keeps a request near 2-5 MB."
    )
    indexer_batch_bytes: int = Field(
        5_000_000,
        ge=10_000,
        description="Bulk request size cap in bytes; the engines advise 5-15 MB per request.",
    )
    # A quarter second: with the 1 s refresh an article is searchable ~1.3 s after enrichment at
    # worst; at 50 articles/s that is 4 bulk requests of ~12 articles a second, which the
    # engine does not notice, and under load batches fill by count long before.
    indexer_batch_seconds: float = Field(
        0.25, gt=0, description="Longest an article waits in a batch: freshness vs request count."
    )
    indexer_backoff_initial_s: float = Field(
        0.2, gt=0, description="First retry delay after a 429/5xx or an unreachable engine."
    )
    indexer_backoff_max_s: float = Field(
        30.0, gt=0, description="Retry delay cap; an unreachable engine is retried forever."
    )
    indexer_item_max_attempts: int = Field(
        8,
        ge=1,
        description="Tries for one document the engine keeps failing with 429/5xx before it "
        "is dead-lettered, so one poisoned document cannot stall the stream.",
    )

    # --- Local stack ---------------------------------------------------------------------------
    data_dir: Path = Field(
        Path(".rasad"), description="Local state: server data, logs, PIDs, producer state."
    )
    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Downloaded Maven artifacts for the local stack, reused across runs.",
    )
    stack_kafka_port: int = Field(9092, description="Local Kafka broker port on 127.0.0.1.")
    stack_kafka_controller_port: int = Field(
        9093, description="Local KRaft controller port on 127.0.0.1."
    )
    stack_engine_port: int = Field(9200, description="Local OpenSearch HTTP port on 127.0.0.1.")
    stack_engine_transport_port: int = Field(
        9300, description="Local OpenSearch transport port on 127.0.0.1."
    )
    stack_kafka_heap: str = Field(
        "512m", description="Kafka JVM heap; a single demo broker needs little."
    )
    stack_engine_heap: str = Field(
        "1g", description="OpenSearch JVM heap; 1 GB holds 100k+ articles comfortably."
    )
    stack_java_home: Path | None = Field(
        None, description="JDK for the local stack; default: JAVA_HOME, then java on PATH."
    )
    stack_start_timeout_s: float = Field(
        180.0, gt=0, description="How long `stack up` waits for both servers to become healthy."
    )

    # --- Faust worker --------------------------------------------------------------------------
    worker_web_port: int = Field(
        6066, description="Faust's own web server (metrics, health), bound to worker_web_host."
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

    # --- HTTP API and web app ------------------------------------------------------------------
    web_host: str = Field(
        "127.0.0.1", description="Bind address of `rasad serve`; loopback unless auth is on."
    )
    web_port: int = Field(8000, description="Port of the HTTP API and web app.")
    web_auth: Literal["local", "apikey"] = Field(
        "local",
        description="local: no auth, loopback bind only (refused otherwise); apikey: X-API-Key.",
    )
    web_apikeys_path: Path = Field(
        Path("web/apikeys.json"),
        description="Hashed API keys and their roles; a relative path is under data_dir.",
    )
    web_cors_origins: str = Field(
        "", description="Comma-separated origins allowed cross-site; empty keeps CORS closed."
    )
    web_sse_queue: int = Field(
        200, ge=1, description="Events buffered per live client; a slower client loses the oldest."
    )
    web_sse_keepalive_s: float = Field(
        15.0, gt=0, description="Comment sent on an idle live stream so proxies keep it open."
    )
    web_sse_max_clients: int = Field(
        100, ge=1, description="Open live streams at once; each holds a queue and a socket."
    )

    # --- `rasad run` (the demo / single-machine supervisor) ------------------------------------
    run_local_stack: bool = Field(
        True, description="Start the local Kafka + OpenSearch; false when using external clusters."
    )
    run_source: Literal["auto", "feeds", "replay"] = Field(
        "auto",
        description="Poll live feeds, replay a recorded corpus, or auto: replay when offline.",
    )
    run_replay_path: Path = Field(
        Path("../shared/data/corpus/ant-multisource.jsonl.gz"),
        description="JSONL(.gz) corpus replayed when run_source is replay (or auto offline).",
    )
    run_replay_rate: float = Field(
        25.0, gt=0, description="Articles/s replayed: fills the dashboard within a minute."
    )

    # --- Producers (feeds -> Kafka) -----------------------------------------------------------
    producer_poll_min_s: float = Field(
        60.0, gt=0, description="Shortest per-feed interval: a busy feed, politely, once a minute."
    )
    producer_poll_max_s: float = Field(
        1800.0, gt=0, description="Longest interval of a quiet feed: still seen twice an hour."
    )
    producer_backoff_max_s: float = Field(
        3600.0, gt=0, description="Cap of a failing feed's exponential backoff: retried hourly."
    )
    producer_dead_after: int = Field(
        5, ge=1, description="Consecutive DNS/404/410 failures before a feed is shown as dead."
    )
    producer_concurrency: int = Field(
        16, ge=1, description="Feeds fetched at once overall; hosts are still one at a time."
    )
    producer_host_gap_s: float = Field(
        2.0, ge=0, description="Minimum gap between two requests to one host: be a polite guest."
    )
    producer_connect_timeout_s: float = Field(
        10.0, gt=0, description="TCP+TLS connect timeout; a healthy server connects in < 1 s."
    )
    producer_read_timeout_s: float = Field(
        20.0, gt=0, description="Longest silence between two chunks before a fetch is abandoned."
    )
    producer_total_timeout_s: float = Field(
        60.0, gt=0, description="Whole-fetch deadline, so a trickling server cannot hold a slot."
    )
    producer_max_response_bytes: int = Field(
        10_000_000, gt=0, description="Abort a body past this while streaming; big feeds are ~3 MB."
    )
    producer_max_decompressed_bytes: int = Field(
        30_000_000, gt=0, description="Cap on gzip/deflate output: defuses decompression bombs."
    )
    producer_max_redirects: int = Field(
        5, ge=0, description="Redirect hops followed per fetch; more is a loop or a trap."
    )
    producer_user_agent: str = Field(
        "Rasad/0.1 (Arabic news monitoring; RSS poller; conditional GET)",
        description="Sent with every request so outlets can see who polls them and how.",
    )
    producer_state_path: Path = Field(
        Path("producers/state.sqlite"),
        description="Dedup + feed-health SQLite DB; a relative path is under data_dir.",
    )
    producer_spool_path: Path = Field(
        Path("producers/spool.sqlite"),
        description="Articles the broker has not acknowledged yet; relative is under data_dir.",
    )
    producer_send_timeout_s: float = Field(
        30.0, gt=0, description="Wait this long for broker acks before spooling a batch."
    )
    producer_spool_retry_s: float = Field(
        30.0, gt=0, description="How often the spool is retried while the broker is away."
    )
    producer_fulltext: bool = Field(
        False, description="Fetch each new article's page for full text (feeds often summarize)."
    )
    producer_fulltext_concurrency: int = Field(
        4, ge=1, description="Article pages fetched at once when full text is on."
    )
    producer_replay_rate: float = Field(
        200.0, ge=0, description="Articles/s of `produce --replay`; 0 = as fast as Kafka takes."
    )
    producer_metrics_port: int = Field(
        9108, ge=0, description="Prometheus /metrics port of `rasad produce` on 127.0.0.1; 0 = off."
    )

    # --- Alerts (percolator matching, notifier: indexers/alerts/) -------------------------------
    alert_percolate_batch: int = Field(
        500,
        ge=1,
        description="Most articles per percolate request: each stored query runs once per "
        "request, so big batches match faster (bench: 111/s at 50, 264/s at 500, 10k alerts).",
    )
    alert_percolate_batch_s: float = Field(
        0.2,
        gt=0,
        description="Longest an alert hit waits for its delivery batch (latency); articles are "
        "matched in the indexer's batches (indexer_batch_seconds).",
    )
    alert_index_shards: int = Field(
        1,
        ge=1,
        description="Shards of the alerts index; shards percolate in parallel, so add them only "
        "on engine nodes with cores to spare (on 2 cores, 2 shards halved the rate).",
    )
    alert_webhook_allow: str = Field(
        "",
        description="Comma-separated hosts, IPs or CIDRs a webhook may reach although private "
        "or loopback (e.g. 127.0.0.1 for a local receiver); empty refuses them all.",
    )
    alert_webhook_connect_timeout_s: float = Field(
        5.0, gt=0, description="TCP+TLS connect timeout of a webhook; a healthy one takes < 1 s."
    )
    alert_webhook_timeout_s: float = Field(
        10.0, gt=0, description="Whole-request deadline of one webhook attempt."
    )
    alert_webhook_max_response_bytes: int = Field(
        65_536, gt=0, description="Response bytes read from a webhook; the rest is discarded."
    )
    alert_delivery_attempts: int = Field(
        5, ge=1, description="Tries per notification before it goes to the dead-letter topic."
    )
    alert_backoff_initial_s: float = Field(
        1.0, gt=0, description="First retry delay of a failed delivery; doubles each attempt."
    )
    alert_backoff_max_s: float = Field(
        60.0, gt=0, description="Retry delay cap: 5 attempts span about 15 s at the defaults."
    )
    alert_throttle_max: int = Field(
        20, ge=1, description="Default notifications per alert per window; the rest is a digest."
    )
    alert_throttle_window_s: float = Field(
        3600.0, gt=0, description="Default throttle window of an alert, in seconds."
    )
    alert_digest_items: int = Field(
        50, ge=1, description="Articles listed in one digest; the digest still counts them all."
    )
    alert_digest_check_s: float = Field(
        5.0, gt=0, description="How often the notifier looks for digests whose window closed."
    )
    alert_smtp_host: str | None = Field(None, description="SMTP server for email alerts.")
    alert_smtp_port: int = Field(587, description="SMTP port: 587 STARTTLS, 465 TLS, 25 plain.")
    alert_smtp_tls: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="How the SMTP connection is encrypted; none only on loopback."
    )
    alert_smtp_user: str | None = Field(None, description="SMTP login user, if the server asks.")
    alert_smtp_password: SecretStr | None = Field(
        None, description="SMTP password; never logged or printed."
    )
    alert_smtp_from: str = Field("rasad@localhost", description="From address of alert emails.")
    alert_smtp_timeout_s: float = Field(20.0, gt=0, description="SMTP connect and command timeout.")

    # --- Logging -------------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Minimum level of the JSON log lines every process writes."
    )
    log_json: bool = Field(
        True, description="JSON lines for machines; false prints readable console lines."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = os.environ.get(CONFIG_ENV)
        if config:
            _check_config_file(Path(config))
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config))
        return tuple(sources)

    # --- Derived names -------------------------------------------------------------------------
    def dead_letter_topic(self, topic: str) -> str:
        return f"{topic}{self.topic_dead_letter_suffix}"

    @property
    def stream_data_dir(self) -> Path:
        """Faust's table and offset files, under the local state directory."""
        return self.data_dir / "faust"

    @property
    def articles_read_alias(self) -> str:
        return f"{self.index_prefix}-articles"

    @property
    def articles_write_alias(self) -> str:
        return f"{self.index_prefix}-articles-write"

    @property
    def alerts_index(self) -> str:
        return f"{self.index_prefix}-alerts"

    @property
    def alert_hits_index(self) -> str:
        return f"{self.index_prefix}-alert-hits"


def _check_config_file(path: Path) -> None:
    try:
        loaded: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read config file: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{path}: not valid YAML: {exc}") from exc
    if loaded is not None and not isinstance(loaded, dict):
        raise ConfigFileError(f"{path}: expected a mapping of setting names to values")
    unknown = sorted(set(loaded or {}) - set(Settings.model_fields))
    if unknown:
        raise ConfigFileError(f"{path}: unknown settings: {', '.join(unknown)}")


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, an optional YAML file, the environment and overrides."""
    if config is not None:
        os.environ[CONFIG_ENV] = str(config)
    return Settings(**overrides)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
