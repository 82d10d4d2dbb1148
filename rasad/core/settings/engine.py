"""Search-engine settings: connection, indices and aliases, and the bulk indexer.

Fields read ``RASAD_<FIELD NAME>``; they are combined in :class:`rasad.core.settings.Settings`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator


class EngineSettings(BaseModel):
    # --- Search engine -------------------------------------------------------------------------
    engine_url: str = Field(
        "http://127.0.0.1:9200",
        description="Elasticsearch or OpenSearch HTTP endpoint; on a cluster, several separated "
        "by commas, so that requests go on through the other nodes when one dies.",
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

    @field_validator("engine_url")
    @classmethod
    def _http_urls(cls, value: str) -> str:
        urls = [url.strip() for url in value.split(",")]
        bad = [url for url in urls if not url.startswith(("http://", "https://"))]
        if bad:
            raise ValueError(
                f"engine_url takes http(s) URLs separated by commas; not a URL: {bad[0]!r}"
            )
        return ",".join(urls)

    @property
    def engine_urls(self) -> list[str]:
        """Every node the clients may send a request to, the first one first."""
        return self.engine_url.split(",")

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

    engine_snapshot_path: Path = Field(
        Path("snapshots"),
        description="Filesystem snapshot repository (`rasad snapshot`); relative is under "
        "data_dir. The engine writes it, so it must be in the engine's path.repo (the local "
        "stack's is) and, on a multi-node cluster, shared by every node.",
    )
    engine_snapshot_repository: str = Field(
        "rasad-backups", description="Name the snapshot repository is registered under."
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
