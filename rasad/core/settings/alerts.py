"""Alert settings: percolator matching and the notifier's delivery, throttle and email.

Fields read ``RASAD_<FIELD NAME>``; they are combined in :class:`rasad.core.settings.Settings`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class AlertSettings(BaseModel):
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
    alert_smtp_port: int = Field(
        587, ge=1, le=65535, description="SMTP port: 587 STARTTLS, 465 TLS, 25 plain."
    )
    alert_smtp_tls: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="How the SMTP connection is encrypted; none only on loopback."
    )
    alert_smtp_user: str | None = Field(None, description="SMTP login user, if the server asks.")
    alert_smtp_password: SecretStr | None = Field(
        None, description="SMTP password; never logged or printed."
    )
    alert_smtp_from: str = Field("rasad@localhost", description="From address of alert emails.")
    alert_smtp_timeout_s: float = Field(20.0, gt=0, description="SMTP connect and command timeout.")
