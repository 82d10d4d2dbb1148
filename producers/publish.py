"""Articles -> Kafka with kafka-python, deduplicated, and never lost when the broker is away.

All methods are blocking (kafka-python and SQLite are): the poller calls them on one dedicated
thread, so they also never race each other. Order per batch: classify against what was already
published or spooled; send; wait for acks; record acked ids as published (only now); keep the
rest in the spool with the error. The spool is retried before every new batch and on a timer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from producers import metrics
from producers.spool import Spool
from producers.state import Known, StateStore
from rasad.core.article import Article
from rasad.core.kafka import client_config
from rasad.core.settings import Settings

# kafka-python tuning. Articles arrive in bursts of one feed poll (10-100 items of 2-20 KB):
# - linger 20 ms lets a burst's sends share one request per partition without adding latency
#   a reader could notice (we flush after each batch anyway, which cuts the linger short);
# - batch 512 KB holds a whole burst of large articles for one partition in one batch;
# - lz4 shrinks Arabic JSON ~2-3x at a CPU cost far below JSON encoding itself;
# - acks=all + idempotence: an acked article is on every in-sync replica, exactly once.
LINGER_MS = 20
BATCH_BYTES = 512 * 1024
COMPRESSION = "lz4"
# Bootstrap quickly and give up: while the broker is away articles go to the spool instead.
BOOTSTRAP_TIMEOUT_MS = 5_000
# send() blocks at most this long waiting for metadata when the broker is unreachable.
MAX_BLOCK_MS = 5_000
# Spooled articles sent per retry round: bounded so one round cannot hold the thread for long.
SPOOL_BATCH = 1_000
# A spooled article refused by the broker this many times is kept as a dead letter.
MAX_ATTEMPTS = 20

ProducerFactory = Callable[[dict[str, Any]], Any]


@dataclass
class SubmitReport:
    new: int = 0
    updated: int = 0
    duplicate: int = 0
    published: int = 0
    spooled: int = 0
    errors: list[str] = field(default_factory=list)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Publisher:
    def __init__(
        self,
        settings: Settings,
        state: StateStore,
        spool: Spool,
        *,
        topic: str | None = None,
        producer_factory: ProducerFactory | None = None,
    ) -> None:
        self.settings = settings
        self.topic = topic or settings.topic_raw
        self.state = state
        self.spool = spool
        self._factory: ProducerFactory = producer_factory or (lambda cfg: KafkaProducer(**cfg))
        self._producer: Any = None
        self._retry_at = 0.0
        self.last_error: str | None = None
        metrics.SPOOL_SIZE.set(spool.size())

    # --- connection ----------------------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        send_ms = int(self.settings.producer_send_timeout_s * 1000)
        # Half the send budget per request leaves room for one retry within the budget.
        request_ms = max(1_000, min(10_000, send_ms // 2))
        return {
            **client_config(self.settings),
            "acks": "all",
            "enable_idempotence": True,
            "compression_type": COMPRESSION,
            "linger_ms": LINGER_MS,
            "batch_size": BATCH_BYTES,
            "bootstrap_timeout_ms": BOOTSTRAP_TIMEOUT_MS,
            "max_block_ms": MAX_BLOCK_MS,
            # A record not acked by then fails instead of being retried behind our back, so a
            # spooled copy can never be delivered twice.
            "request_timeout_ms": request_ms,
            "delivery_timeout_ms": max(send_ms, request_ms + LINGER_MS + 1),
        }

    def _connected(self) -> Any:
        if self._producer is None and time.monotonic() >= self._retry_at:
            producer = None
            try:
                producer = self._factory(self._config())
                # Without this, every send to a missing topic would block max_block_ms.
                if not producer.partitions_for(self.topic):
                    raise KafkaError(f"topic {self.topic} has no partitions")
                self._producer = producer
            except (KafkaError, OSError, ValueError) as exc:
                if producer is not None:
                    producer.close(timeout=0)
                    self.last_error = f"topic {self.topic} not on the broker (run `rasad setup`)"
                else:
                    self.last_error = f"broker unreachable: {exc}"
                self._retry_at = time.monotonic() + self.settings.producer_spool_retry_s
        return self._producer

    def check(self) -> str | None:
        """Connect now; None when the broker and topic are there, else why not."""
        return None if self._connected() is not None else self.last_error

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=self.settings.producer_send_timeout_s)
            self._producer = None

    # --- sending -------------------------------------------------------------------------------
    def _send(self, items: Sequence[tuple[str, bytes]]) -> tuple[list[bool], str | None]:
        """Send (key, value) pairs and wait for acks; per item: acked or not, and why not."""
        producer = self._connected()
        if producer is None:
            return [False] * len(items), self.last_error
        futures: list[Any] = []
        error: str | None = None
        try:
            for key, value in items:
                futures.append(producer.send(self.topic, key=key.encode(), value=value))
            producer.flush(timeout=self.settings.producer_send_timeout_s + 5)
        except KafkaError as exc:
            error = f"{type(exc).__name__}: {exc}"
        acked = [f.is_done and f.succeeded() for f in futures]
        acked += [False] * (len(items) - len(acked))
        for f in futures:
            if f.is_done and f.failed():
                error = error or f"{type(f.exception).__name__}: {f.exception}"
        if error:
            self.last_error = error
        return acked, error

    def flush_spool(self) -> int:
        """Retry spooled articles, oldest first; returns how many the broker acknowledged."""
        sent = 0
        while (batch := self.spool.pending(SPOOL_BATCH)) and self._connected() is not None:
            acked, error = self._send([(row.id, row.payload) for row in batch])
            ok = [row for row, a in zip(batch, acked, strict=True) if a]
            bad = [row for row, a in zip(batch, acked, strict=True) if not a]
            self.state.mark_published((r.id, r.content_hash, r.version, _now()) for r in ok)
            self.spool.remove(r.seq for r in ok)
            sent += len(ok)
            if bad:
                dead = [r.seq for r in bad if r.attempts + 1 >= MAX_ATTEMPTS]
                self.spool.failed([r.seq for r in bad if r.seq not in dead], error or "not acked")
                self.spool.failed(dead, error or "not acked", dead=True)
                metrics.ARTICLES.labels("dead_lettered").inc(len(dead))
                break
        metrics.ARTICLES.labels("published").inc(sent)
        metrics.SPOOL_SIZE.set(self.spool.size())
        return sent

    def _known(self, ids: Sequence[str]) -> Known:
        known = self.state.lookup(ids)
        for article_id, (hashes, version) in self.spool.lookup(ids).items():
            # spooled = published, just not acknowledged yet
            seen, top = known.get(article_id, (set(), 0))
            known[article_id] = (seen | hashes, max(top, version))
        return known

    def unseen(self, articles: Sequence[Article]) -> set[str]:
        """Ids of the articles that :meth:`submit` would publish (new or changed)."""
        known = self._known([a.id for a in articles])
        return {a.id for a in articles if a.content_hash not in known.get(a.id, (set(), 0))[0]}

    def submit(self, articles: Sequence[Article]) -> SubmitReport:
        """Publish what is new or changed in ``articles``; everything else is counted."""
        report = SubmitReport()
        if self.spool.size():
            self.flush_spool()
        known = self._known([a.id for a in articles])
        outgoing: list[Article] = []
        for article in articles:
            previous = known.get(article.id)
            if previous is not None and article.content_hash in previous[0]:
                report.duplicate += 1
                continue
            version = 1 if previous is None else previous[1] + 1
            if previous is None:
                report.new += 1
            else:
                report.updated += 1
            article = article.model_copy(update={"version": version})
            hashes = previous[0] if previous else set()
            known[article.id] = (hashes | {article.content_hash}, version)  # twice in one batch
            outgoing.append(article)
        payloads = [(a.id, a.content_hash, a.version, a.to_json()) for a in outgoing]
        acked, error = self._send([(p[0], p[3]) for p in payloads]) if payloads else ([], None)
        done = [p for p, ok in zip(payloads, acked, strict=True) if ok]
        failed = [p for p, ok in zip(payloads, acked, strict=True) if not ok]
        self.state.mark_published((p[0], p[1], p[2], _now()) for p in done)
        if failed:
            self.spool.add(failed, error or "not acknowledged")
            report.errors.append(error or "not acknowledged")
        report.published, report.spooled = len(done), len(failed)
        for outcome, n in (
            ("published", report.published),
            ("updated", report.updated),
            ("duplicate", report.duplicate),
            ("spooled", report.spooled),
        ):
            metrics.ARTICLES.labels(outcome).inc(n)
        metrics.SPOOL_SIZE.set(self.spool.size())
        return report
