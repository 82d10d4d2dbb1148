"""Wiring, continued: the reprocess agent and the taxonomy watch (``stream/app.py`` imports this
module last, so every name it takes from there exists).

    reprocess topic --reprocess_articles--> engine (articles, external version after live)
                                        \\--> reprocess changes (one record per article)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

from faust.exceptions import ConsumerNotStarted
from faust.types import EventT, StreamT

from indexers.index.sink import IndexSink
from rasad.core.article import EnrichedArticle, SchemaError
from rasad.core.deadletter import DeadLetter
from rasad.core.logs import get_logger
from rasad.core.reprocess import ArticleChange, ReprocessRequest
from stream.app import (
    _batches,
    _publish_dead_letter,
    _send_dead_letter,
    alert_hits_topic,
    alert_matcher,
    app,
    indexer,
    live,
    settings,
)
from stream.enrich.topics.reload import TaxonomyError, TaxonomyWatch
from stream.enrich.version import current as enrichment_version
from stream.reprocess import Reprocessor

log = get_logger(__name__)

# Requests per batch: ~0.1 s of enrichment, one bulk request (~20 articles, ~200 KB) and one
# changes write; small enough that a stop waits little and a live bulk never queues in the
# engine behind a big reprocess one.
REPROCESS_BATCH = 20
REPROCESS_BATCH_S = 0.5

reprocess_topic = app.topic(settings.topic_reprocess, partitions=settings.topic_partitions)
reprocess_dead_letter_topic = app.topic(
    settings.dead_letter_topic(settings.topic_reprocess), partitions=1
)


async def _reprocess_dead_letter(letter: DeadLetter) -> None:
    await _publish_dead_letter(letter, reprocess_dead_letter_topic)


class _Lazy:
    """The reprocessor and its own sink, made on first use (the engine may come up later)."""

    def __init__(self) -> None:
        self.reprocessor: Reprocessor | None = None

    async def get(self) -> Reprocessor:
        if self.reprocessor is None:
            engine = await indexer.engine()
            sink = IndexSink(engine, settings, _reprocess_dead_letter)
            self.reprocessor = Reprocessor(engine, settings, sink, _match_reprocessed)
        return self.reprocessor


async def _match_reprocessed(articles: Sequence[EnrichedArticle]) -> None:
    """Hits of alerts that opted in to reprocess digests, keyed by alert id as live hits."""
    for start in range(0, len(articles), settings.alert_percolate_batch):
        batch = articles[start : start + settings.alert_percolate_batch]
        for hit in await alert_matcher.match_articles(batch, reprocess=True):
            await alert_hits_topic.send(key=hit.alert_id.encode(), value=hit.to_json())


_reprocessor = _Lazy()


def _hold_reprocess(live_busy: bool) -> None:
    """While a live batch is enriched, the consumer delivers no reprocess requests. During a
    rebalance Faust pauses and resumes every partition itself; this leaves them to it."""
    if app.rebalancing or app.in_recovery:
        return
    topic = settings.topic_reprocess
    try:
        mine = {tp for tp in app.consumer.assignment() if tp.topic == topic}
    except ConsumerNotStarted:  # stopping: the last live batch ended after the consumer
        return
    if live_busy:
        app.consumer.pause_partitions(mine)
    else:
        app.consumer.resume_partitions(mine)


live.on_change(_hold_reprocess)


def _bytes(value: object) -> bytes:
    if not isinstance(value, bytes):  # a tombstone (None) or a non-raw serializer's object
        raise SchemaError(f"expected bytes, got {type(value).__name__}")
    return value


@app.agent(reprocess_topic)
async def reprocess_articles(stream: StreamT[bytes]) -> None:
    """reprocess -> engine and changes; acked once both are durable. Gives way to live
    articles before every article (:class:`stream.reprocess.LiveActivity`)."""
    async for batch in _batches(stream, REPROCESS_BATCH, REPROCESS_BATCH_S):
        events = cast(Sequence[EventT[bytes]], batch)
        reprocessor = await _reprocessor.get()
        pending: list[tuple[ReprocessRequest, EnrichedArticle]] = []
        failed: list[ArticleChange] = []
        for event in events:
            await live.give_way()
            try:
                request = ReprocessRequest.from_json(_bytes(event.value))
            except SchemaError as exc:
                await _send_dead_letter(event, "reprocess.decode", exc, reprocess_dead_letter_topic)
                continue
            change = reprocessor.enrich_one(request, pending)
            if change is not None:
                failed.append(change)
        await live.give_way()  # the batch's bulk waits for live articles in hand too
        await reprocessor.finish(pending, failed)
        for event in events:
            await stream.ack(event)


# --- Taxonomy edits without restarts ------------------------------------------------------------
taxonomy_watch = (
    TaxonomyWatch(Path(settings.stream_taxonomy_path)) if settings.stream_taxonomy_path else None
)
if taxonomy_watch is not None:
    taxonomy_watch.start()  # a bad file at start stops the worker, naming file and line


@app.timer(interval=settings.stream_taxonomy_check_s)  # type: ignore[untyped-decorator]
async def watch_taxonomy() -> None:
    """Swap in an edited taxonomy once it validates; a bad edit is logged and the running
    taxonomy stays."""
    if taxonomy_watch is None:
        return
    try:
        if taxonomy_watch.reload_if_changed():
            log.info(
                "taxonomy reloaded", file=str(taxonomy_watch.path), version=enrichment_version().id
            )
    except TaxonomyError as exc:
        log.error("taxonomy edit refused, the previous taxonomy keeps running", error=str(exc))
