"""Producer settings: feeds -> Kafka (polling, politeness, limits, spool).

Fields read ``RASAD_<FIELD NAME>``; they are combined in :class:`rasad.core.settings.Settings`."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class SourceSettings(BaseModel):
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
        "Rasad/0.1 (Arabic news monitoring; feeds, news sitemaps, conditional GET)",
        description="Names Rasad in every request (never a browser's); the contact URL follows.",
    )
    producer_contact_url: str = Field(
        "https://rasad.invalid/set-RASAD_PRODUCER_CONTACT_URL",
        description="Where an outlet reaches whoever runs this instance; sent in the User-Agent. "
        "Set it: the default is a placeholder that names the setting.",
    )
    producer_robots_ttl_s: float = Field(
        86400.0, gt=0, description="How long a host's robots.txt is trusted: a day, as Google."
    )
    producer_stale_days: float = Field(
        7.0, gt=0, description="A source whose newest item is older than this is stale."
    )
    producer_slow_s: float = Field(
        10.0, gt=0, description="A source answering slower than this is slow (healthy: < 2 s)."
    )
    producer_silent_factor: float = Field(
        4.0,
        gt=1,
        description="An outlet is silent after this many times its usual gap without a new item.",
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
    producer_drain_timeout_s: float = Field(
        60.0,
        ge=0,
        description="On exit (end of replay, SIGTERM, Ctrl-C) keep publishing the spool this "
        "long while the broker is away; then exit non-zero naming what is left. Under systemd's "
        "90 s stop timeout.",
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
        9108,
        ge=0,
        le=65535,
        description="Prometheus /metrics port of `rasad produce` on 127.0.0.1; 0 = off.",
    )
