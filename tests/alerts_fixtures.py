"""Shared fixtures of the alert tests: a fresh alert index prefix, real corpus and seed
articles, a real webhook receiver on 127.0.0.1, and an in-process copy of the two alert agents
(enriched -> percolate -> alert-hits -> notifier) over the real broker.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from indexers.alerts.matcher import AlertMatcher
from indexers.alerts.notify import Notifier
from indexers.alerts.store import ensure_alert_indices
from rasad.core.article import EnrichedArticle, Language, Source
from rasad.core.deadletter import SendDeadLetter
from rasad.core.engine.client import Engine
from rasad.core.kafka import bootstrap_servers
from rasad.core.settings import Settings
from tests.index_fixtures import fresh_settings, raw_corpus, to_enriched
from tests.shared_data import SEED_DIR

PHRASE = "المجلس الوطني للمقاومة"
# The broker's minimum session timeout: a killed worker's partitions move on within 6 s.
GROUP_TIMEOUTS = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 1000}


def alert_test_settings(base: Settings, **overrides: Any) -> Settings:
    """A unique prefix and topics; the local receiver allow-listed; quick retries."""
    suffix = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "alert_webhook_allow": "127.0.0.1",
        "alert_backoff_initial_s": 0.05,
        "alert_backoff_max_s": 0.2,
        "alert_delivery_attempts": 3,
        "alert_webhook_timeout_s": 5.0,
        "alert_percolate_batch_s": 0.05,
        "topic_enriched": f"test.alerts.enriched.{suffix}",
        "topic_alert_hits": f"test.alerts.hits.{suffix}",
    }
    values.update(overrides)
    return fresh_settings(base, **values)


def alert_topics(settings: Settings) -> list[str]:
    hits = settings.topic_alert_hits
    return [settings.topic_enriched, hits, settings.dead_letter_topic(hits)]


@pytest.fixture
async def alert_settings(
    engine: Engine, live_stack: Settings, kafka_admin: KafkaAdminClient
) -> AsyncIterator[Settings]:
    """Fresh indices and topics (one partition each) for one test; removed after."""
    settings = alert_test_settings(live_stack)
    await ensure_alert_indices(engine, settings)
    kafka_admin.create_topics(
        [NewTopic(name, num_partitions=1, replication_factor=1) for name in alert_topics(settings)]
    )
    yield settings
    kafka_admin.delete_topics(alert_topics(settings))
    await engine.delete_index(f"{settings.index_prefix}-*")


def seed_article(path: Path) -> EnrichedArticle:
    """A seed text (first line title, the rest body) as an enriched article."""
    title, _, body = path.read_text(encoding="utf-8").strip().partition("\n")
    now = datetime.now(UTC)
    return EnrichedArticle(
        id=hashlib.sha256(path.name.encode()).hexdigest()[:16],
        url=f"https://seed.example/{path.stem}",
        canonical_url=f"https://seed.example/{path.stem}",
        title=title.strip(),
        body=body.strip(),
        body_kind="full_text",
        published_at=now,
        fetched_at=now,
        source=Source(id="seed", name="seed", country="INT", kind="private"),
        feed_url="https://seed.example/feed",
        content_hash=hashlib.sha256(body.encode()).hexdigest(),
        lang=Language(code="ar", script="Arabic", confidence=0.99),
        enriched_at=now,
    )


def seed_articles() -> list[EnrichedArticle]:
    return [seed_article(p) for p in sorted(SEED_DIR.glob("*.txt"))]


def corpus_where(
    predicate: Callable[[dict[str, Any]], bool], limit: int = 50
) -> list[EnrichedArticle]:
    """Real corpus articles whose record satisfies ``predicate``."""
    return [to_enriched(r) for r in raw_corpus(None) if predicate(r)][:limit]


def text_of(raw: dict[str, Any]) -> str:
    return f"{raw['title']}\n{raw['abstract']}\n{raw['text']}"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """A real aiohttp webhook receiver on 127.0.0.1. ``plan`` lists the answers of the first
    requests (a status code, or ``"hang"`` to never answer); later requests get 200."""

    plan: list[int | str] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    acknowledged: list[Received] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        received = Received(dict(request.headers), await request.read())
        self.requests.append(received)
        self.arrived.set()
        answer = self.plan.pop(0) if self.plan else 200
        if answer == "hang":
            await asyncio.sleep(3600)
        status = int(answer)
        if 200 <= status < 300:
            self.acknowledged.append(received)
        return web.Response(status=status, text="ok" if status < 300 else "try later")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, count: int, within_s: float = 90.0) -> None:
        """Until ``count`` deliveries were acknowledged; 90 s holds on a loaded 2-core box."""

        async def reached() -> None:
            while len(self.acknowledged) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(reached(), within_s)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    await hook.start()
    yield hook
    await hook.stop()


async def produce(settings: Settings, topic: str, values: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(settings))
    await producer.start()
    try:
        for key, value in values:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def consume_all(settings: Settings, topic: str, idle_s: float = 2.0) -> list[bytes]:
    """Every message of a topic, from the start, until it stays quiet for ``idle_s``."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap_servers(settings), auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        found: list[bytes] = []
        while batch := await consumer.getmany(timeout_ms=int(idle_s * 1000)):
            found.extend(m.value for messages in batch.values() for m in messages if m.value)
        return found
    finally:
        await consumer.stop()


async def run_agents(
    settings: Settings,
    dead_letter: SendDeadLetter,
    stop: asyncio.Event,
    group: str,
) -> None:
    """The two alert agents of stream/app.py, with plain aiokafka in place of Faust: percolate
    enriched batches into alert-hits (keyed by alert id), deliver hits, commit after each
    batch."""
    servers = bootstrap_servers(settings)
    matcher = AlertMatcher(settings)
    notifier = Notifier(settings, dead_letter)
    producer = AIOKafkaProducer(bootstrap_servers=servers)
    enriched = AIOKafkaConsumer(
        settings.topic_enriched, bootstrap_servers=servers, group_id=f"{group}-match",
        auto_offset_reset="earliest", enable_auto_commit=False, **GROUP_TIMEOUTS,
    )  # fmt: skip
    hits = AIOKafkaConsumer(
        settings.topic_alert_hits, bootstrap_servers=servers, group_id=f"{group}-notify",
        auto_offset_reset="earliest", enable_auto_commit=False, **GROUP_TIMEOUTS,
    )  # fmt: skip
    await producer.start()
    await enriched.start()
    await hits.start()
    try:
        while not stop.is_set():
            batch = await enriched.getmany(timeout_ms=50, max_records=100)
            values = [m.value for ms in batch.values() for m in ms]
            articles = [EnrichedArticle.from_json(v) for v in values if v is not None]
            for hit in await matcher.match_articles(articles):
                await producer.send_and_wait(
                    settings.topic_alert_hits, hit.to_json(), key=hit.alert_id.encode()
                )
            if values:
                await enriched.commit()
            batch = await hits.getmany(timeout_ms=50, max_records=100)
            for ms in batch.values():
                for m in ms:
                    await notifier.add(m.value or b"")
            if batch:
                await notifier.flush()
                await hits.commit()
    finally:
        await hits.stop()
        await enriched.stop()
        await producer.stop()
        await matcher.close()
        await notifier.close()


def enriched_message(article: EnrichedArticle) -> tuple[bytes, bytes]:
    return article.id.encode(), article.to_json()
