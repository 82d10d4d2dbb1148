"""The notifier: delivers alert hits by webhook and email, at most once, with a digest throttle.

It follows the sink contract (``add()`` then ``flush()``): the wiring feeds it alert-hit
messages and lets Kafka commit their offsets only after ``flush()`` returns, when every hit is
delivered, queued for a digest, a known duplicate, or dead-lettered.

**At most once, across restarts and redeliveries.** Every hit is claimed in the alert-hits
index under its idempotency key (alert id + article id, or + cluster id in cluster mode) with
``op_type=create`` before anything is sent, and marked with its outcome after. That index is the
ledger *and* the hit history: it is shared by every worker on every machine (a SQLite file under
``data_dir`` would be per machine, and lost with it), its create is atomic on the id, and its
GET is real-time. A redelivered message whose record is final is skipped. One whose record is
still ``pending`` belonged to a worker that died (or lost the partition) mid-delivery: this
worker takes it over (an optimistic-concurrency update, so only one taker wins) and delivers it.
If the old worker died after the receiver answered but before the record was updated, the
receiver sees the same ``X-Rasad-Idempotency-Key`` twice; that window is milliseconds and is why
the key is sent. Hits are keyed by alert id on the topic, so one alert's hits (its throttle
window, its clusters) are handled by one worker at a time.

**Throttle and digest.** At most N notifications per alert per window (fixed windows aligned to
the epoch); later hits are recorded as ``queued`` and, once their window has closed, rolled into
one digest notification (itself claimed under its own key, so it too is sent once).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from prometheus_client import Counter, Histogram

from indexers.alerts.delivery import Channels
from indexers.alerts.ledger import Ledger, Throttle, iso
from indexers.alerts.store import Alert, AlertHit, AlertNotFound, ensure_alert_indices, get_alert
from rasad.core.article import SchemaError
from rasad.core.deadletter import DeadLetter, SendDeadLetter
from rasad.core.engine.client import Engine, EngineUnavailable, wait_for_engine
from rasad.core.logs import get_logger
from rasad.core.settings import Settings
from rasad.core.sink import FlushResult

log = get_logger(__name__)

NOTIFICATIONS = Counter(
    "rasad_alert_notifications_total",
    "Alert hits handled by the notifier, by outcome (delivered, duplicate, queued, digested, "
    "suppressed = alert deleted or paused, recorded = no channel, dead_lettered, undecodable).",
    ["outcome"],
)
HIT_LATENCY = Histogram(
    "rasad_alert_hit_latency_seconds",
    "From the percolator's match to the end of a successful delivery.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 120.0),
)

# How long a fetched alert definition is trusted: a pause or a new secret applies within it.
ALERT_CACHE_S = 5.0
# Digest windows fetched per check; the rest wait for the next check.
DIGEST_GROUPS = 500


class Notifier:
    def __init__(
        self,
        settings: Settings,
        dead_letter: SendDeadLetter,
        engine: Engine | None = None,
    ) -> None:
        self._settings = settings
        self._dead_letter = dead_letter
        self._engine = engine
        self._owns_engine = engine is None
        self.worker = uuid.uuid4().hex[:12]
        self._channels = Channels(settings)
        self._alerts: dict[str, tuple[float, Alert | None]] = {}
        self._pending: list[bytes] = []
        self._ledger: Ledger | None = None
        self._throttle: Throttle | None = None

    async def _ready(self) -> Ledger:
        if self._ledger is None:
            if self._engine is None:
                s = self._settings
                self._engine = await wait_for_engine(
                    s, s.alert_backoff_initial_s, s.alert_backoff_max_s, waiting="alert delivery"
                )
            await ensure_alert_indices(self._engine, self._settings)
            self._ledger = Ledger(self._engine, self._settings, self.worker)
            self._throttle = Throttle(self._ledger)
        return self._ledger

    async def close(self) -> None:
        if self._pending:
            await self.flush()
        await self._channels.close()
        if self._owns_engine and self._engine is not None:
            await self._engine.close()

    async def add(self, value: bytes) -> FlushResult | None:
        """Buffer one alert-hit message (its bytes, exactly as on the topic); the wiring flushes
        each batch it takes, so this never flushes by itself."""
        self._pending.append(value)
        return None

    async def flush(self) -> FlushResult:
        """Handle every buffered hit to a final state; hits of a batch go out concurrently."""
        ledger = await self._ready()
        result = FlushResult()
        batch, self._pending = self._pending, []
        hits: dict[str, AlertHit] = {}
        for value in batch:
            try:
                hit = AlertHit.from_json(value)
            except SchemaError as exc:
                topic = self._settings.topic_alert_hits
                await self._dead_letter(DeadLetter.of("notify.decode", topic, None, value, exc))
                result.add("undecodable")
                continue
            if hit.key in hits:  # the same story twice in one batch (cluster mode)
                result.add("duplicate")
            hits[hit.key] = hit
        outcomes = await asyncio.gather(*(self._handle(ledger, h) for h in hits.values()))
        for outcome in outcomes:
            result.add(outcome)
        for outcome, n in result.outcomes.items():
            NOTIFICATIONS.labels(outcome).inc(n)
        return result

    async def _alert(self, alert_id: str) -> Alert | None:
        loop = asyncio.get_running_loop()
        cached = self._alerts.get(alert_id)
        if cached is not None and loop.time() - cached[0] < ALERT_CACHE_S:
            return cached[1]
        assert self._engine is not None
        try:
            alert: Alert | None = await get_alert(self._engine, self._settings, alert_id)
        except AlertNotFound:
            alert = None
        self._alerts[alert_id] = (loop.time(), alert)
        return alert

    async def _handle(self, ledger: Ledger, hit: AlertHit) -> str:
        record = {"kind": "hit", **hit.model_dump(mode="json", exclude={"key"})}
        if not await ledger.claim(hit.key, record):
            return "duplicate"
        alert = await self._alert(hit.alert_id)
        if alert is None or not alert.enabled:
            await ledger.finish(hit.key, status="suppressed")
            return "suppressed"
        assert self._throttle is not None
        now = datetime.now(UTC)
        admitted, window_end = await self._throttle.admit(alert, self._settings, now)
        if not admitted or hit.reprocess:  # a reprocess's hits only ever go in the digest
            await ledger.finish(hit.key, status="queued", window_end=iso(window_end))
            return "queued"
        payload = {
            "event": "alert.hit",
            "idempotency_key": hit.key,
            "alert": {"id": alert.id, "name": alert.name},
            "article": {
                "id": hit.article_id,
                "title": hit.title,
                "url": hit.url,
                "source": {"id": hit.source_id, "name": hit.source_name},
                "published_at": iso(hit.published_at),
                "cluster_id": hit.cluster_id,
            },
            "matched_at": iso(hit.matched_at),
        }
        status = await self._deliver(ledger, alert, hit.key, payload, hit.to_json())
        if status == "delivered":
            HIT_LATENCY.observe((datetime.now(UTC) - hit.matched_at).total_seconds())
        return status

    async def _deliver(
        self, ledger: Ledger, alert: Alert, key: str, payload: dict[str, Any], original: bytes
    ) -> str:
        """Send on every channel with retries; record and return the final status."""
        attempts, errors = await self._channels.send(alert, key, payload)
        if attempts == 0:
            await ledger.finish(key, status="recorded")
            return "recorded"
        now = iso(datetime.now(UTC))
        if not errors:
            await ledger.finish(key, status="delivered", attempts=attempts, delivered_at=now)
            return "delivered"
        reason = "; ".join(errors)
        log.warning("alert delivery dead-lettered", key=key, alert_id=alert.id, reason=reason)
        letter = DeadLetter.of(
            "notify",
            self._settings.topic_alert_hits,
            alert.id.encode(),
            original,
            reason,
            attempts=attempts,
            origin=key,
        )
        await self._dead_letter(letter)
        await ledger.finish(key, status="dead_lettered", attempts=attempts, error=reason[:1000])
        return "dead_lettered"

    # --- Digests -------------------------------------------------------------------------------
    async def send_due_digests(self, now: datetime | None = None) -> int:
        """Roll every closed window's queued hits into one digest per alert; returns how many
        digests were handled. Safe on several workers: each digest is claimed once."""
        ledger = await self._ready()
        assert self._engine is not None
        moment = now or datetime.now(UTC)
        body = {
            "size": 0,
            "query": {"bool": {"filter": self._queued_filter(moment)}},
            "aggs": {
                "alerts": {
                    "terms": {"field": "alert_id", "size": DIGEST_GROUPS},
                    "aggs": {"windows": {"terms": {"field": "window_end", "size": 10}}},
                }
            },
        }
        try:
            raw = await self._engine.search(self._settings.alert_hits_index, body)
        except EngineUnavailable as exc:
            log.warning("digest check skipped: engine unavailable", error=str(exc))
            return 0
        handled = 0
        for group in raw.get("aggregations", {}).get("alerts", {}).get("buckets", []):
            for window in group["windows"]["buckets"]:
                await self._digest(ledger, str(group["key"]), window, moment)
                handled += 1
        return handled

    @staticmethod
    def _queued_filter(moment: datetime) -> list[dict[str, Any]]:
        return [
            {"term": {"kind": "hit"}},
            {"term": {"status": "queued"}},
            {"range": {"window_end": {"lte": iso(moment)}}},
        ]

    async def _digest(
        self, ledger: Ledger, alert_id: str, window: dict[str, Any], moment: datetime
    ) -> None:
        assert self._engine is not None
        index = self._settings.alert_hits_index
        window_end = str(window["key_as_string"])
        key = f"{alert_id}:digest:{window_end}"
        items_filter = [
            *self._queued_filter(moment),
            {"term": {"alert_id": alert_id}},
            {"term": {"window_end": window["key"]}},
        ]
        found = await self._engine.search(
            index,
            {
                "query": {"bool": {"filter": items_filter}},
                "sort": [{"matched_at": "asc"}],
                "size": self._settings.alert_digest_items,
                "track_total_hits": True,
            },
        )
        total = int(found["hits"]["total"]["value"])
        alert = await self._alert(alert_id)
        claimed = await ledger.claim(
            key,
            {"kind": "digest", "alert_id": alert_id, "window_end": window_end, "items": total,
             "alert_name": alert.name if alert else ""},
        )  # fmt: skip
        if not claimed:
            status = await ledger.status(key) or "digested"
        elif alert is None or not alert.enabled:
            status = "suppressed"
            await ledger.finish(key, status=status)
        else:
            articles = [
                {k: h["_source"].get(k) for k in
                 ("article_id", "title", "url", "source_name", "published_at", "matched_at")}
                for h in found["hits"]["hits"]
            ]  # fmt: skip
            payload = {
                "event": "alert.digest",
                "idempotency_key": key,
                "alert": {"id": alert.id, "name": alert.name},
                "window_end": window_end,
                "count": total,
                "articles": articles,
            }
            status = await self._deliver(ledger, alert, key, payload, orjson.dumps(payload))
        item_status = "digested" if status in ("delivered", "recorded") else status
        await self._engine.request(
            "POST",
            f"/{index}/_update_by_query",
            params={"conflicts": "proceed", "refresh": "true"},
            body={
                "query": {"bool": {"filter": items_filter}},
                "script": {
                    "source": "ctx._source.status = params.s; ctx._source.digest_key = params.k",
                    "params": {"s": item_status, "k": key},
                },
            },
        )
        for _ in range(total):
            NOTIFICATIONS.labels(item_status).inc()
