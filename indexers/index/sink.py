"""The bulk indexer: a plain async sink with the :mod:`rasad.core.sink` contract.

The wiring module (``stream/app.py``) feeds it enriched articles and commits Kafka offsets only
after ``flush()`` returns: by then every article of the batch is durable in the engine, was
already there in the same or a newer version, or went to the dead-letter callback.

* ``_id`` = article id and ``version_type=external`` with the version of
  :func:`external_version` (the article version, then the reprocess time): a replay is a 409
  (counted ``stale``), an older version never overwrites a newer one, a reprocess overwrites
  the same version enriched before it and never a newer one.
* 429/5xx, timeouts and a refused connection are retried with exponential backoff; while the
  engine is unreachable ``flush()`` simply does not return, so the agent stops consuming
  (backpressure) and nothing is lost. Per-document 429/5xx give up after a few attempts so one
  poisoned document cannot stall the stream.
* Documents the engine refuses (mapping errors) go to the dead-letter callback as the one
  envelope (:class:`rasad.core.deadletter.DeadLetter`: the article's bytes and the reason).
  The sink takes a callback rather than a Kafka producer so this stage needs no Kafka code.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from prometheus_client import Counter, Histogram

from indexers.index.documents import article_index, to_document
from indexers.index.templates import write_generation
from rasad.core import backoff
from rasad.core.article import EnrichedArticle
from rasad.core.deadletter import DeadLetter, SendDeadLetter
from rasad.core.engine.client import Engine, EngineRejected, EngineUnavailable
from rasad.core.logs import get_logger
from rasad.core.settings import Settings
from rasad.core.sink import FlushResult

log = get_logger(__name__)

DOCUMENTS = Counter(
    "rasad_indexer_documents_total",
    "Articles handled by the indexer sink, by outcome "
    "(indexed, stale = same or newer version already indexed, retried, dead_lettered).",
    ["outcome"],
)
BULK_REQUESTS = Counter(
    "rasad_indexer_bulk_requests_total",
    "Bulk requests sent by the indexer sink, by outcome (ok, unavailable, rejected).",
    ["outcome"],
)
FLUSH_SECONDS = Histogram(
    "rasad_indexer_flush_seconds", "Time for one flush, retries included, in seconds."
)

# Per-document errors that mean "not now" rather than "never": the index is closed for a
# synonym reload, the node is short of threads or memory, a shard is relocating.
RETRYABLE_ITEM_ERRORS = frozenset(
    {
        "index_closed_exception",
        "cluster_block_exception",
        "unavailable_shards_exception",
        "es_rejected_execution_exception",
        "opensearch_rejected_execution_exception",
        "rejected_execution_exception",
        "circuit_breaking_exception",
        "process_cluster_event_timeout_exception",
    }
)
# Bytes a document adds to a bulk request beside its source: the action line and the spliced
# indexed_at (~160 bytes).
ACTION_BYTES = 160
# How often the sink re-reads the write alias, so a mapping migration reaches running indexers
# within a minute without a restart.
GENERATION_TTL_S = 60.0


# External versions: the article version in the high bits, the reprocess time (UTC seconds, fits
# 32 bits until 2106) in the low ones, 0 for live enrichment. A newer content version (live)
# always beats any reprocess of an older one; a reprocess of version v beats the live v and every
# earlier reprocess of v; a reprocess of v never beats a live v+1 (it gets a 409, counted stale).
REPROCESS_BITS = 32
# The mapping's version field is an integer: beyond it an article is corrupt, and shifted it
# would not fit the engine's 63-bit versions.
MAX_ARTICLE_VERSION = 2**31


def external_version(article: EnrichedArticle) -> int:
    """The engine version of an article's document (see REPROCESS_BITS)."""
    if article.version >= MAX_ARTICLE_VERSION:
        return article.version  # corrupt: the mapping (an integer field) refuses the document
    reprocessed = article.enrichment is not None and article.enrichment.run is not None
    low = int(article.enriched_at.timestamp()) if reprocessed else 0
    return (article.version << REPROCESS_BITS) | low


class IndexSetupMissing(RuntimeError):
    """The write alias does not exist: ``rasad setup`` has not run against this engine."""


@dataclass
class _Item:
    article: EnrichedArticle
    # The document without indexed_at, which is spliced in at send time (see _payload).
    source: bytes
    attempts: int = 0


class IndexSink:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        dead_letter: SendDeadLetter,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._dead_letter = dead_letter
        self._clock = clock
        self._items: list[_Item] = []
        self._bytes = 0
        self._oldest: float | None = None
        self._generation: tuple[str, float] | None = None
        # One bulk in flight at a time, in order: a flush started while another runs waits for
        # it, so an article's newer version is never sent before its older one's outcome.
        self._flushing = asyncio.Lock()
        # Lifetime outcome counts of this sink (the Prometheus counters add up all sinks).
        self.totals: Tally[str] = Tally()

    @property
    def pending(self) -> int:
        return len(self._items)

    def due(self) -> bool:
        """True when the batch is full by count or bytes, or its oldest article waited enough."""
        s = self._settings
        if not self._items or self._oldest is None:
            return False
        waited = self._clock() - self._oldest
        return (
            len(self._items) >= s.indexer_batch_count
            or self._bytes >= s.indexer_batch_bytes
            or waited >= s.indexer_batch_seconds
        )

    def buffer(self, article: EnrichedArticle) -> None:
        """Buffer one article without flushing: for a caller that flushes by itself (the
        agent flushes each batch it takes, while it buffers the next)."""
        doc = to_document(article, datetime.now(UTC))
        del doc["indexed_at"]
        source = orjson.dumps(doc)
        self._items.append(_Item(article, source))
        self._bytes += len(source) + ACTION_BYTES
        if self._oldest is None:
            self._oldest = self._clock()

    async def close(self) -> None:
        """Flush what is buffered; the engine belongs to the caller, which closes it."""
        await self.flush()

    async def add(self, article: EnrichedArticle) -> FlushResult | None:
        """Buffer one article; flush (and wait for it) when the batch is due."""
        self.buffer(article)
        return await self.flush() if self.due() else None

    async def flush_if_due(self) -> FlushResult | None:
        """For a periodic timer: flush a batch that has waited ``indexer_batch_seconds``."""
        return await self.flush() if self.due() else None

    async def flush(self) -> FlushResult:
        """Make every article buffered so far durable (or dead-lettered); blocks while the engine
        is unreachable. If this raises (a dead-letter callback failed), the batch goes back to
        the front of the buffer.

        The buffer is handed over when the flush starts, so the caller may ``add()`` the next
        batch while this one is in the engine (the indexer agent overlaps the two); articles
        added meanwhile belong to the next flush.
        """
        async with self._flushing:
            result = FlushResult()
            if not self._items:
                return result
            batch, self._items, self._bytes, self._oldest = self._items, [], 0, None
            started = self._clock()
            try:
                for chunk in self._requests(batch):
                    await self._send_until_done(chunk, result)
            except BaseException:
                self._items = batch + self._items
                self._bytes = sum(len(item.source) + ACTION_BYTES for item in self._items)
                self._oldest = started
                raise
            FLUSH_SECONDS.observe(self._clock() - started)
            self.totals.update(result.outcomes)
            return result

    def _requests(self, batch: list[_Item]) -> Iterator[list[_Item]]:
        """The batch cut into bulk requests of at most ``indexer_batch_count`` articles and
        about ``indexer_batch_bytes`` (a single larger article still goes, alone)."""
        s = self._settings
        chunk: list[_Item] = []
        size = 0
        for item in batch:
            cost = len(item.source) + ACTION_BYTES
            if chunk and (
                len(chunk) >= s.indexer_batch_count or size + cost > s.indexer_batch_bytes
            ):
                yield chunk
                chunk, size = [], 0
            chunk.append(item)
            size += cost
        if chunk:
            yield chunk

    async def _send_until_done(self, pending: list[_Item], result: FlushResult) -> None:
        delays = self._backoff()
        while pending:
            try:
                pending = await self._send(pending, result)
            except EngineUnavailable as exc:
                BULK_REQUESTS.labels("unavailable").inc()
                delay = next(delays)
                log.warning("engine unavailable, retrying", error=str(exc), retry_in_s=delay)
                await asyncio.sleep(delay)
                continue
            if pending:
                await asyncio.sleep(next(delays))
            else:
                delays = self._backoff()

    def _backoff(self) -> Iterator[float]:
        return backoff.delays(
            self._settings.indexer_backoff_initial_s, self._settings.indexer_backoff_max_s
        )

    async def _target(self) -> str:
        now = self._clock()
        if self._generation is None or now - self._generation[1] > GENERATION_TTL_S:
            gen = await write_generation(self._engine, self._settings)
            if gen is None:
                raise IndexSetupMissing(
                    f"no index behind {self._settings.articles_write_alias}: run `rasad setup`"
                )
            self._generation = (gen, now)
        return self._generation[0]

    async def _payload(self, items: list[_Item]) -> bytes:
        gen = await self._target()
        stamp = orjson.dumps(datetime.now(UTC).isoformat())
        lines: list[bytes] = []
        for item in items:
            a = item.article
            action = {
                "index": {
                    "_index": article_index(gen, a.published_at),
                    "_id": a.id,
                    "version": external_version(a),
                    "version_type": "external",
                }
            }
            lines.append(orjson.dumps(action))
            # Splicing the timestamp in saves re-serialising the document on every retry.
            lines.append(b'{"indexed_at":' + stamp + b"," + item.source[1:])
        return b"\n".join(lines) + b"\n"

    async def _send(self, items: list[_Item], result: FlushResult) -> list[_Item]:
        """One bulk request; returns the items to retry."""
        try:
            response = await self._engine.bulk(await self._payload(items))
        except EngineRejected as exc:
            BULK_REQUESTS.labels("rejected").inc()
            if len(items) == 1:
                await self._reject(items[0], f"{exc.error_type}: {exc.reason}", result)
                return []
            # A whole request refused (too large, unparsable): send one by one to find the
            # document at fault instead of dead-lettering its innocent neighbours.
            retry: list[_Item] = []
            for item in items:
                retry.extend(await self._send([item], result))
            return retry
        BULK_REQUESTS.labels("ok").inc()
        retry = []
        for item, outcome in zip(items, response["items"], strict=True):
            answer = outcome["index"]
            status = int(answer["status"])
            if status < 300:
                result.add("indexed")
                DOCUMENTS.labels("indexed").inc()
            elif status == 409:
                result.add("stale")
                result.stale_ids.append(item.article.id)
                DOCUMENTS.labels("stale").inc()
            else:
                error = answer.get("error") or {}
                error_type = str(error.get("type", "error"))
                reason = f"{status} {error_type}: {error.get('reason', '')}"
                caused = error.get("caused_by") or {}
                if caused.get("reason"):
                    reason += f" ({caused['reason']})"
                if status == 429 or status >= 500 or error_type in RETRYABLE_ITEM_ERRORS:
                    item.attempts += 1
                    if item.attempts < self._settings.indexer_item_max_attempts:
                        result.add("retries")
                        DOCUMENTS.labels("retried").inc()
                        retry.append(item)
                        continue
                    reason = f"gave up after {item.attempts} attempts: {reason}"
                await self._reject(item, reason, result)
        return retry

    async def _reject(self, item: _Item, reason: str, result: FlushResult) -> None:
        log.warning("article dead-lettered", article_id=item.article.id, reason=reason)
        article = item.article
        await self._dead_letter(
            DeadLetter.of(
                "index",
                self._settings.topic_enriched,
                article.id.encode(),
                article.to_json(),
                reason,
                attempts=max(1, item.attempts),
            )
        )
        result.add("dead_lettered")
        result.reasons.append(reason)
        DOCUMENTS.labels("dead_lettered").inc()
