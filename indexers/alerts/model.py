"""The alert model: what an analyst defines, what is stored, what a match carries.

Pure data (pydantic), no I/O; storage and matching live in :mod:`indexers.alerts.store`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, field_validator

from indexers.search.query import MAX_FILTER_VALUES, MAX_QUERY_CHARS, Filters
from rasad.core.article import EnrichedArticle, JsonModel
from rasad.core.settings import Settings

AlertMode = Literal["every", "cluster"]
MAX_THROTTLE = 1_000_000
MAX_THROTTLE_WINDOW_S = 366 * 24 * 3600.0


class AlertError(Exception):
    """An alert cannot be saved or used as asked; the message says why."""


class AlertNotFound(AlertError):
    """No alert has this id."""


class AlertQueryError(AlertError):
    """The alert's query does not parse or the engine cannot run it."""


class AlertRefused(AlertError):
    """The alert is well-formed but not allowed (refused webhook URL, no SMTP server, …)."""


class AlertSpec(BaseModel):
    """What an analyst writes: the query, filters, delivery mode, throttle and channels."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    owner: str = Field("local", min_length=1, max_length=200)
    query: str = Field("", max_length=MAX_QUERY_CHARS, description="Same language as search.")
    topics: list[str] = Field(
        default_factory=list, max_length=MAX_FILTER_VALUES, description="Any of these topic tags."
    )
    min_topic_score: float | None = Field(None, ge=0.0, le=1.0)
    entities: list[str] = Field(
        default_factory=list, max_length=MAX_FILTER_VALUES, description="All of these (name or id)."
    )
    sources: list[str] = Field(
        default_factory=list, max_length=MAX_FILTER_VALUES, description="Any of these source ids."
    )
    countries: list[str] = Field(
        default_factory=list, max_length=MAX_FILTER_VALUES, description="Any of these countries."
    )
    mode: AlertMode = Field("every", description="every article, or once per story cluster")
    reprocess_digest: bool = Field(
        False,
        description="Also the new hits a reprocess creates (rasad reprocess), always in the "
        "digest, never one by one; off: a reprocess never notifies.",
    )
    # Bounds: a million notifications per window is no throttle at all, and a year is the
    # longest window that means anything; beyond them numbers overflow the engine's long.
    throttle_max: int | None = Field(
        None, ge=1, le=MAX_THROTTLE, description="Default: alert_throttle_max."
    )
    throttle_window_s: float | None = Field(
        None, gt=0, le=MAX_THROTTLE_WINDOW_S, description="Default: settings."
    )
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = Field(None, description="HMAC-SHA256 signing secret.")
    email_to: list[str] = Field(default_factory=list)
    enabled: bool = True

    @field_validator("email_to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if "@" not in address or any(c in address for c in "\r\n,; "):
                raise ValueError(f"not an email address: {address!r}")
        return value

    def filters(self) -> Filters:
        return Filters(
            topics=tuple(self.topics),
            min_topic_score=self.min_topic_score,
            entities=tuple(self.entities),
            sources=tuple(self.sources),
            countries=tuple(self.countries),
        )

    def throttle(self, settings: Settings) -> tuple[int, float]:
        """(notifications, window seconds) of this alert."""
        return (
            self.throttle_max or settings.alert_throttle_max,
            self.throttle_window_s or settings.alert_throttle_window_s,
        )


class Alert(AlertSpec):
    id: str
    created_at: AwareDatetime
    updated_at: AwareDatetime

    def public(self, hit_count: int | None = None) -> dict[str, Any]:
        """What list/show and the API return: everything but the signing secret."""
        shown = self.model_dump(mode="json", exclude={"webhook_secret"})
        shown["webhook_signed"] = self.webhook_secret is not None
        if hit_count is not None:
            shown["hit_count"] = hit_count
        return shown

    def stored(self) -> dict[str, Any]:
        """The full definition as stored, secret included (only the engine holds it)."""
        data = self.model_dump(mode="json")
        if self.webhook_secret is not None:
            data["webhook_secret"] = self.webhook_secret.get_secret_value()
        return data


class AlertHit(JsonModel):
    """One (alert, article) match on the alert-hits topic; ``key`` is its idempotency key."""

    key: str
    alert_id: str
    alert_name: str
    owner: str
    mode: AlertMode
    article_id: str
    cluster_id: str | None
    title: str
    url: str
    source_id: str
    source_name: str
    published_at: AwareDatetime
    matched_at: AwareDatetime
    reprocess: bool = Field(False, description="Created by a reprocess: digest only.")


def hit_key(alert_id: str, mode: AlertMode, article: EnrichedArticle) -> str:
    """The idempotency key: one delivery per article, or per story cluster in cluster mode."""
    if mode == "cluster" and article.cluster is not None:
        return f"{alert_id}:cluster:{article.cluster.id}"
    return f"{alert_id}:article:{article.id}"
