"""Service settings: the local stack, the HTTP API and web app, `rasad run`, logging.

Fields read ``RASAD_<FIELD NAME>``; they are combined in :class:`rasad.core.settings.Settings`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rasad"


class ServiceSettings(BaseModel):
    # --- Local stack ---------------------------------------------------------------------------
    data_dir: Path = Field(
        Path(".rasad"), description="Local state: server data, logs, PIDs, producer state."
    )
    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Downloaded Maven artifacts for the local stack, reused across runs.",
    )
    stack_kafka_port: int = Field(
        9092, ge=1, le=65535, description="Local Kafka broker port on 127.0.0.1."
    )
    stack_kafka_controller_port: int = Field(
        9093, ge=1, le=65535, description="Local KRaft controller port on 127.0.0.1."
    )
    stack_engine_port: int = Field(
        9200, ge=1, le=65535, description="Local OpenSearch HTTP port on 127.0.0.1."
    )
    stack_engine_transport_port: int = Field(
        9300, ge=1, le=65535, description="Local OpenSearch transport port on 127.0.0.1."
    )
    stack_kafka_brokers: int = Field(
        1,
        ge=1,
        le=9,
        description="Kafka nodes (KRaft, broker+controller each) `stack up` starts; 3 for a "
        "replicated cluster (`--kafka-brokers`), on consecutive port pairs.",
    )
    stack_engine_nodes: int = Field(
        1,
        ge=1,
        le=9,
        description="OpenSearch data nodes `stack up` starts; 2 for replicas (`--engine-nodes`), "
        "plus a small manager-only node (no data) when even, on consecutive ports.",
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

    # --- HTTP API and web app ------------------------------------------------------------------
    web_host: str = Field(
        "127.0.0.1", description="Bind address of `rasad serve`; loopback unless auth is on."
    )
    web_port: int = Field(8000, ge=1, le=65535, description="Port of the HTTP API and web app.")
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
    web_allowed_hosts: str = Field(
        "",
        description="Comma-separated Host names the server answers (a port is ignored); empty: "
        "loopback names in local mode (defeats DNS rebinding), any name in apikey mode.",
    )
    web_max_body_bytes: int = Field(
        1_000_000,
        ge=1024,
        description="Largest request body the API reads; an alert is ~1 KB, so 1 MB is ample.",
    )
    web_max_url_bytes: int = Field(
        8192,
        ge=1024,
        description="Longest URL (path and query) the API reads, refused with 414 beyond; the "
        "web app's longest searches take ~1 KB, and 8 KB is what common proxies pass.",
    )
    web_max_head_bytes: int = Field(
        65536,
        ge=16384,
        description="Largest request line plus headers the HTTP server buffers per connection; "
        "beyond it the request is refused (414 or 431) before the app sees it.",
    )
    web_public_paths: str = Field(
        "/healthz,/metrics,/openapi.json,/docs,/docs/oauth2-redirect,/redoc",
        description="apikey mode: paths served without a key (health checks, scrapers, the API "
        "schema); remove one to require a key for it.",
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
    run_replay_present: bool = Field(
        True,
        description="In replay, move each article's publication time by whole weeks into the "
        "week before the replay (same weekday and hour), so the last-7-days views, charts "
        "and rising lists fill as on a live week; false keeps the recorded (2018) dates.",
    )

    # --- Logging -------------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Minimum level of the JSON log lines every process writes."
    )
    log_json: bool = Field(
        True, description="JSON lines for machines; false prints readable console lines."
    )
