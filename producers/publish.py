"""Articles -> Kafka with kafka-python, deduplicated, and never lost when the broker is away.

All methods are blocking (kafka-python and SQLite are): the poller calls them on one dedicated
thread, so they also never race each other. Order per batch: classify against what was already
published or spooled; send; wait for acks; record acked ids as published (only now); keep the
rest in the spool with the error. The spool is retried before every new batch and on a timer.

A process killed outright (SIGKILL, power loss) between the broker's acks for a batch and the
state's write of them leaves that one batch unrecorded, and the next run publishes it again:
delivery to the raw topic is at least once for the batch in flight at a crash. Downstream,
every write is keyed by the article's id and version, so it is indexed once.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer
from kafka.errors import (
    InvalidTopicError,
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    UnsupportedForMessageFormatError,
)

from producers import metrics
from producers.spool import Spool, Spooled
from producers.state import Known, StateStore
from rasad.core.article import Article
from rasad.core.deadletter import DeadLetter
from rasad.core.kafka import client_config
from rasad.core.logs import get_logger
from rasad.core.settings import Settings

log = get_logger(__name__)

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
# A spooled article not acknowledged this many times is dead-lettered even when the error
# looked temporary: 20 tries span at least 10 minutes at the default spool_retry_s.
MAX_ATTEMPTS = 20
# While draining on exit, a broker that is away is asked again this often: a reconnect is one
# TCP connect, cheap, and a broker restart is noticed within a second.
DRAIN_RETRY_S = 1.0
# Refusals no retry can change: the record is too large or malformed, or the topic is invalid.
# (Timeouts, leader changes and lost connections are retriable and keep the article spooled.)
REFUSED_FOR_GOOD = (
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    UnsupportedForMessageFormatError,
    InvalidTopicError,
)


class NotConnectedError(ConnectionError):
    """The broker (or the topic) could not be reached; the article waits in the spool."""


def refused_for_good(error: BaseException) -> bool:
    return isinstance(error, REFUSED_FOR_GOOD)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


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
        # Articles dead-lettered by this publisher, by why the broker refused them (the error's
        # type: a bounded set of keys however long the publisher runs).
        self.dead_lettered: Counter[str] = Counter()
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
                    _close(producer, self.settings.producer_send_timeout_s)
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
            self._drop_producer()

    def _drop_producer(self) -> None:
        """Close the producer; the next send connects a new one."""
        producer, self._producer = self._producer, None
        _close(producer, self.settings.producer_send_timeout_s)

    # --- sending -------------------------------------------------------------------------------
    def _send_to(
        self, topic: str, items: Sequence[tuple[bytes | None, bytes]]
    ) -> list[BaseException | None]:
        """Send (key, value) pairs and wait for acks; per item None (acked) or why not."""
        producer = self._connected()
        if producer is None:
            return [NotConnectedError(self.last_error or "broker unreachable")] * len(items)
        results: list[BaseException | None] = []
        futures: list[Any] = []
        for key, value in items:
            try:  # a record too large for the client fails here, not in its future
                futures.append(producer.send(topic, key=key, value=value))
            except KafkaError as exc:
                futures.append(exc)
        deadline = time.monotonic() + self.settings.producer_send_timeout_s + 5
        try:
            producer.flush(timeout=self.settings.producer_send_timeout_s + 5)
        except KafkaError as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            # The flush also gives up on a batch the broker made it split ("Future not done"):
            # a record's own future follows the split, so wait on those, in the same budget.
            for f in futures:
                if not isinstance(f, BaseException):
                    with contextlib.suppress(KafkaError):  # its outcome is read below
                        f.get(timeout=max(0.0, deadline - time.monotonic()))
        for f in futures:
            if isinstance(f, BaseException):
                results.append(f)
            elif not f.is_done:
                results.append(KafkaTimeoutError("not acknowledged in time"))
            else:
                results.append(None if f.succeeded() else f.exception)
        if errors := [r for r in results if r is not None]:
            self.last_error = _describe(errors[0])
        if any(refused_for_good(e) for e in errors):
            # An idempotent kafka-python producer treats a refusal as fatal and aborts every
            # later batch: start a fresh one (what was acked stays acked).
            self._drop_producer()
            self._retry_at = 0.0
            if len(items) > 1:
                # The abort fails the batch's other records with the same error: send each
                # refused one alone, so only a record the broker refuses itself is dead-lettered.
                results = [
                    self._send_to(topic, [item])[0] if e is not None and refused_for_good(e) else e
                    for item, e in zip(items, results, strict=True)
                ]
        elif len(errors) == len(results):
            # Nothing acknowledged. The broker may be away (a new producer learns that as fast),
            # or this producer has stopped sending: kafka-python's idempotent producer was seen
            # to go silent for good after batches expired during a broker restart, with a
            # drain of 180 s sending nothing. Results are taken (all spooled): start afresh.
            self._drop_producer()
            self._retry_at = time.monotonic() + self.settings.producer_spool_retry_s
        return results

    def _settle(self, rows: Sequence[Spooled], results: Sequence[BaseException | None]) -> int:
        """Book one send of spooled rows: acked ones are published and leave the spool; refused
        for good (or too often) go to the dead-letter topic; the rest wait for the next try."""
        acked = [r for r, e in zip(rows, results, strict=True) if e is None]
        self.state.mark_published((r.id, r.content_hash, r.version, _now()) for r in acked)
        self.spool.remove(r.seq for r in acked)
        failed = [(r, e) for r, e in zip(rows, results, strict=True) if e is not None]
        dead = [(r, e) for r, e in failed if refused_for_good(e) or r.attempts + 1 >= MAX_ATTEMPTS]
        dead_seqs = {r.seq for r, _ in dead}
        for row, error in failed:
            if row.seq not in dead_seqs:
                self.spool.failed([row.seq], _describe(error))
        if dead:
            self._dead_letter(dead)
        return len(acked)

    def _dead_letter(self, dead: Sequence[tuple[Spooled, BaseException]]) -> None:
        """Write refused articles to ``<topic>.dlq`` in the dead-letter envelope; one the
        dead-letter topic does not take either stays in the spool, marked dead, for a person."""
        letters = [
            (
                r.id.encode(),
                DeadLetter.of(
                    "produce", self.topic, r.id.encode(), r.payload, e, attempts=r.attempts + 1
                ).to_json(),
            )
            for r, e in dead
        ]
        results = self._send_to(self.settings.dead_letter_topic(self.topic), letters)
        written = [r for (r, _), e in zip(dead, results, strict=True) if e is None]
        # Dedup must know them, or the next poll of their feed would send them again.
        self.state.mark_published((r.id, r.content_hash, r.version, _now()) for r in written)
        self.spool.remove(r.seq for r in written)
        for (row, error), dlq_error in zip(dead, results, strict=True):
            kept = (
                ""
                if dlq_error is None
                else " (kept in the spool: the dead-letter topic refused it too)"
            )
            self.dead_lettered[type(error).__name__ + kept] += 1
            if dlq_error is None:
                log.warning(
                    "article refused by the broker for good, sent to the dead-letter topic",
                    id=row.id,
                    error=_describe(error),
                )
            else:
                reason = f"{_describe(error)}; dead-letter topic: {_describe(dlq_error)}"
                self.spool.failed([row.seq], reason, dead=True)
                log.error("article kept as a dead letter in the spool", id=row.id, error=reason)
        metrics.ARTICLES.labels("dead_lettered").inc(len(written))
        metrics.ARTICLES.labels("dead_spooled").inc(len(dead) - len(written))

    def flush_spool(self) -> int:
        """Retry spooled articles, oldest first; returns how many the broker acknowledged."""
        sent = 0
        while (batch := self.spool.pending(SPOOL_BATCH)) and self._connected() is not None:
            results = self._send_to(self.topic, [(r.id.encode(), r.payload) for r in batch])
            sent += self._settle(batch, results)
            if any(e is not None and not refused_for_good(e) for e in results):
                break  # the broker is struggling: the next round (or the drain) tries again
        metrics.ARTICLES.labels("published").inc(sent)
        metrics.SPOOL_SIZE.set(self.spool.size())
        return sent

    def drain(self, timeout_s: float) -> int:
        """Publish the whole spool, retrying while the broker is away, for up to ``timeout_s``
        (plus at most one send timeout); returns how many articles are still spooled."""
        deadline = time.monotonic() + timeout_s
        while self.spool.size() and time.monotonic() < deadline:
            self._retry_at = 0.0  # reconnect now, not on the spool_retry_s timer
            if not self.flush_spool():
                time.sleep(max(0.0, min(DRAIN_RETRY_S, deadline - time.monotonic())))
        return self.spool.size()

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
        spooled_before = self.spool.size()
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
        results = self._send_to(self.topic, [(p[0].encode(), p[3]) for p in payloads])
        done = [p for p, e in zip(payloads, results, strict=True) if e is None]
        self.state.mark_published((p[0], p[1], p[2], _now()) for p in done)
        failed = [(p, e) for p, e in zip(payloads, results, strict=True) if e is not None]
        if failed:
            spooled = self.spool.add((p for p, _ in failed), _describe(failed[0][1]))
            self._settle(spooled, [e for _, e in failed])
            report.errors.append(_describe(failed[0][1]))
        report.published, report.spooled = len(done), self.spool.size() - spooled_before
        for outcome, n in (
            ("published", report.published),
            ("updated", report.updated),
            ("duplicate", report.duplicate),
            ("spooled", report.spooled),
        ):
            metrics.ARTICLES.labels(outcome).inc(n)
        metrics.SPOOL_SIZE.set(self.spool.size())
        return report


def _close(producer: Any, wait_s: float) -> None:
    """Close a producer, giving what it holds ``wait_s`` to be acknowledged; what it does not
    acknowledge was booked already (a send's result is taken before any close: not acked ->
    spooled). kafka-python's close flushes first and, when the flush times out, raises before
    it stops its sender thread: the sender is then told to stop without sending, and closed
    again, so no thread outlives its producer still holding records."""
    try:
        producer.close(timeout=wait_s)
        return
    except KafkaError as exc:  # a timeout, or "Future not done" from a batch being aborted
        log.warning("Kafka producer closed with records unacknowledged", error=_describe(exc))
    producer._sender.force_close()
    try:
        producer.close(timeout=wait_s)
    except KafkaError as exc:
        log.error("a Kafka producer's sender did not stop", error=_describe(exc))
