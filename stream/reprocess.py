"""The reprocess worker: stored articles re-enriched with the live agent's own code.

``rasad reprocess`` publishes one :class:`ReprocessRequest` per selected article to the
reprocess topic; the agent in ``stream/app.py`` hands each batch here. Each article goes through
:func:`stream.enrich.pipeline.enrich`, exactly as a live one, but keeps its cluster, and is
written straight to the engine with its own sink (not through the enriched topic: a reprocess
of 30,000 articles must not queue in front of live ones on the way to the indexer). Its
external version puts it after the live enrichment of the same article version and before any
newer version (``indexers.index.sink.external_version``). One change record per article says
what it gained and lost (or that a newer version won: stale).

Reprocessed articles are percolated only against alerts that opted in (``reprocess_digest``);
their hits go to the digest, and one an alert already had is a duplicate in the notifier's
ledger: by default a reprocess never notifies again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from indexers.index.reprocess_store import write_changes
from indexers.index.sink import IndexSink
from rasad.core import backoff
from rasad.core.article import EnrichedArticle
from rasad.core.engine.client import Engine, EngineUnavailable
from rasad.core.logs import get_logger
from rasad.core.reprocess import ArticleChange, ReprocessRequest, change_of, unwritten
from rasad.core.settings import Settings
from stream.enrich.pipeline import EnrichmentError, enrich

log = get_logger(__name__)


def reenrich(request: ReprocessRequest, now: datetime, max_chars: int) -> EnrichedArticle:
    """The article enriched again, marked as made by the request's run."""
    enriched = enrich(request.article, None, now, max_chars, keep_cluster=request.cluster)
    assert enriched.enrichment is not None  # set by enrich on every article
    run = enriched.enrichment.model_copy(update={"run": request.run})
    return enriched.model_copy(update={"enrichment": run})


class Reprocessor:
    """Re-enriches, indexes and records batches of requests."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        sink: IndexSink,
        match: Callable[[Sequence[EnrichedArticle]], Awaitable[None]],
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._sink = sink
        self._match = match  # percolate against opted-in alerts and send the hits

    def enrich_one(
        self, request: ReprocessRequest, pending: list[tuple[ReprocessRequest, EnrichedArticle]]
    ) -> ArticleChange | None:
        """Enrich one request into ``pending``; a failure is its change record (outcome
        failed) and raises nothing."""
        now = datetime.now(UTC)
        try:
            enriched = reenrich(request, now, self._settings.stream_enrich_max_chars)
        except EnrichmentError as exc:
            log.warning(
                "reprocess enrichment failed", article_id=request.article.id, error=str(exc)
            )
            return unwritten(request, "failed", now)
        self._sink.buffer(enriched)
        pending.append((request, enriched))
        return None

    async def finish(
        self,
        pending: Sequence[tuple[ReprocessRequest, EnrichedArticle]],
        failed: Sequence[ArticleChange],
    ) -> None:
        """Index the batch, then record each article's change: durable before it is acked."""
        result = await self._sink.flush()
        stale = set(result.stale_ids)
        now = datetime.now(UTC)
        changes = list(failed)
        written: list[EnrichedArticle] = []
        for request, enriched in pending:
            if enriched.id in stale:
                changes.append(unwritten(request, "stale", now))
            else:
                changes.append(change_of(request, enriched, now))
                written.append(enriched)
        await self._match(written)
        # The change records are what `rasad reprocess` waits for: a busy or unreachable engine
        # is waited out (the batch stays unacked meanwhile), never a crash of the agent.
        waits = backoff.delays(
            self._settings.indexer_backoff_initial_s, self._settings.indexer_backoff_max_s
        )
        while True:
            try:
                await write_changes(self._engine, self._settings, changes)
                return
            except EngineUnavailable as exc:
                delay = next(waits)
                log.warning("reprocess changes wait for the engine", error=str(exc)[:300])
                await asyncio.sleep(delay)


# Live messages this worker may be behind (its raw-topic lag, measured every 5 s by
# stream/lag.py) before the reprocess agent stops until it has caught up: live articles the
# worker has not taken yet (still in Kafka or in its buffers), which the live agent's batches
# alone do not show; a live rate of 20/s with 1 s commits keeps the lag far below it.
LIVE_BACKLOG = 100
BACKLOG_WAIT_S = 0.2


class LiveActivity:
    """The live enrichment agent's state, to which the reprocess agent gives way.

    Live first, one article at a time: the reprocess agent enriches its next article (and
    writes its batch) only while no live batch is in hand (:meth:`working`: being enriched, or
    being indexed) and the worker is not backed up on live messages, so a live article waits at
    most for the one reprocessed article under way. While a live batch is in hand the hook
    (:meth:`on_change`) holds the reprocess partitions back too, so the consumer spends no
    delivery on reprocess requests meanwhile.
    """

    def __init__(self) -> None:
        self._batches = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._backlog: Callable[[], int] = lambda: 0
        self._hook: Callable[[bool], None] = lambda busy: None

    def use_backlog(self, live_backlog: Callable[[], int]) -> None:
        self._backlog = live_backlog

    def on_change(self, hook: Callable[[bool], None]) -> None:
        """``hook(True)`` when live work starts, ``hook(False)`` when it is done."""
        self._hook = hook

    @contextmanager
    def working(self) -> Iterator[None]:
        """Around each live batch: the reprocess agent waits until it is done."""
        self._batches += 1
        if self._batches == 1:
            self._idle.clear()
            self._hook(True)
        try:
            yield
        finally:
            self._batches -= 1
            if not self._batches:
                self._idle.set()
                self._hook(False)

    async def give_way(self) -> None:
        # A polled number, not an event: the lag is measured by a timer of its own.
        while self._backlog() > LIVE_BACKLOG:  # noqa: ASYNC110
            await asyncio.sleep(BACKLOG_WAIT_S)
        await self._idle.wait()
        # Enrichment never awaits, and a set event returns without yielding: this is where the
        # consumer delivers live messages that arrived during the last reprocessed article.
        await asyncio.sleep(0)
