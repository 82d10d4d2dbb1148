"""The bulk indexer sink against the real engine: idempotent, versioned, loses nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client import REGISTRY

from indexers.index.sink import IndexSink
from indexers.search.searcher import get_article
from rasad.core.article import EnrichedArticle
from rasad.core.deadletter import DeadLetter
from rasad.core.engine.client import Engine
from rasad.core.kafka import client_config
from rasad.core.settings import Settings
from tests.index_fixtures import (
    PausableProxy,
    corpus_articles,
    engine,
    fresh_settings,
    index_settings,
)

__all__ = ["engine", "index_settings"]


async def never_dead(letter: DeadLetter) -> None:
    raise AssertionError(f"{letter.key!r} dead-lettered: {letter.error}")


async def count(engine: Engine, settings: Settings) -> int:
    await engine.refresh(settings.articles_read_alias)
    return await engine.count(settings.articles_read_alias)


async def test_replaying_the_same_articles_leaves_the_count_unchanged(
    engine: Engine, index_settings: Settings
) -> None:
    articles = list(corpus_articles(60))
    for _ in range(2):
        sink = IndexSink(engine, index_settings, never_dead)
        for article in articles:
            await sink.add(article)
        await sink.flush()
    assert sink.totals["stale"] == 60  # the replay: the engine already had every version
    assert await count(engine, index_settings) == 60


async def test_an_older_version_never_overwrites_a_newer_one(
    engine: Engine, index_settings: Settings
) -> None:
    original = next(corpus_articles(1))
    newer = original.model_copy(update={"title": original.title + " (محدّث)", "version": 3})
    older = original.model_copy(update={"version": 2})
    sink = IndexSink(engine, index_settings, never_dead)
    for article in (newer, older):
        await sink.add(article)
        await sink.flush()
    assert sink.totals["indexed"] == 1 and sink.totals["stale"] == 1
    await engine.refresh(index_settings.articles_read_alias)
    stored = await get_article(engine, index_settings, original.id)
    assert stored is not None
    assert stored["version"] == 3 and stored["title"].endswith("(محدّث)")


async def test_a_rejected_document_reaches_the_dead_letter_topic_with_its_reason(
    engine: Engine, index_settings: Settings, new_topic: Callable[..., str]
) -> None:
    topic = new_topic("test.enriched.dlq")
    producer = AIOKafkaProducer(acks="all", **client_config(index_settings))
    await producer.start()

    async def to_topic(letter: DeadLetter) -> None:
        await producer.send_and_wait(topic, key=letter.key, value=letter.to_json())

    good = list(corpus_articles(5))
    # 2^31 content changes is corrupt data: the mapping's integer field refuses it.
    corrupt = good[0].model_copy(update={"id": "corrupt-version", "version": 2**31})
    sink = IndexSink(engine, index_settings, to_topic)
    try:
        for article in [*good, corrupt]:
            await sink.add(article)
        result = await sink.flush()
    finally:
        await producer.stop()
    assert (result["indexed"], result["dead_lettered"]) == (5, 1)

    consumer = AIOKafkaConsumer(
        topic, auto_offset_reset="earliest", **client_config(index_settings)
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=30)
    finally:
        await consumer.stop()
    assert message.value is not None
    letter = DeadLetter.from_json(message.value)
    assert message.key == letter.key == b"corrupt-version"
    assert (letter.stage, letter.topic) == ("index", index_settings.topic_enriched)
    assert "mapper_parsing_exception" in letter.error
    assert EnrichedArticle.from_json(letter.value) == corrupt
    assert await count(engine, index_settings) == 5


async def until(condition: Callable[[], bool], limit_s: float = 120.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in time")


def _unavailable_requests() -> float:
    return (
        REGISTRY.get_sample_value("rasad_indexer_bulk_requests_total", {"outcome": "unavailable"})
        or 0.0
    )


async def test_an_engine_outage_mid_stream_loses_nothing(
    engine: Engine, index_settings: Settings
) -> None:
    """The sink talks to the engine through a proxy we stop and start: while it is down the
    sink retries and add() blocks (the agent stops consuming); afterwards everything is there."""
    host, port = index_settings.engine_url.removeprefix("http://").split(":")
    proxy = PausableProxy(host, int(port))
    await proxy.resume()
    settings = fresh_settings(index_settings, engine_url=proxy.url, indexer_batch_count=20)
    settings = settings.model_copy(update={"index_prefix": index_settings.index_prefix})
    articles = list(corpus_articles(200))
    async with await Engine.connect(settings) as through_proxy:
        sink = IndexSink(through_proxy, settings, never_dead)
        added = 0

        async def consume() -> None:
            nonlocal added
            for article in articles:
                await sink.add(article)
                added += 1
            await sink.flush()

        task = asyncio.create_task(consume())
        await until(lambda: added >= 70)
        await proxy.pause()
        failures_before = _unavailable_requests()
        await until(lambda: _unavailable_requests() >= failures_before + 3)  # three retries
        stalled_at = added
        await asyncio.sleep(0.3)
        assert not task.done() and added == stalled_at  # backpressure: nothing more consumed
        await proxy.resume()
        await asyncio.wait_for(task, timeout=60)
        await proxy.pause()
    assert sink.totals["indexed"] + sink.totals["stale"] == 200
    assert await count(engine, index_settings) == 200


async def test_batches_flush_by_count_bytes_and_time(
    engine: Engine, index_settings: Settings
) -> None:
    articles = list(corpus_articles(30))
    by_count = IndexSink(
        engine, index_settings.model_copy(update={"indexer_batch_count": 10}), never_dead
    )
    flushed = [await by_count.add(a) for a in articles[:25]]
    assert [i for i, r in enumerate(flushed) if r is not None] == [9, 19]
    assert by_count.pending == 5

    by_bytes = IndexSink(
        engine, index_settings.model_copy(update={"indexer_batch_bytes": 10_000}), never_dead
    )
    sizes = [len(a.to_json()) for a in articles[:5]]
    results = [await by_bytes.add(a) for a in articles[:5]]
    assert any(results) and by_bytes.pending < 5, sizes

    now = [0.0]
    by_time = IndexSink(engine, index_settings, never_dead, clock=lambda: now[0])
    await by_time.add(articles[0])
    assert await by_time.flush_if_due() is None
    now[0] += index_settings.indexer_batch_seconds
    flushed_late = await by_time.flush_if_due()
    assert flushed_late is not None and by_time.pending == 0
