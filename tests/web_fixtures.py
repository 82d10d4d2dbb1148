"""Shared fixtures of the web tests: real corpus articles, enriched and indexed into a fresh
index prefix through the indexer's own sink, a real `rasad worker` on that prefix's own topics,
and a real `rasad serve` app on a free port."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
import pytest_asyncio
import uvicorn
from kafka.admin import KafkaAdminClient

from indexers.index.reprocess_store import ensure_reprocess_indices, save_run
from indexers.index.sink import IndexSink
from indexers.index.templates import ensure_index_setup, template_name
from producers.registry import load_registry
from producers.replay import corpus_article, source_for
from rasad.core.article import Article, EnrichedArticle, TopicTag
from rasad.core.deadletter import DeadLetter
from rasad.core.engine.client import Engine
from rasad.core.kafka import client_config
from rasad.core.reprocess import (
    EntityRef,
    Previous,
    ReprocessRequest,
    RunParams,
    RunRecord,
    change_of,
    summarize,
)
from rasad.core.settings import Settings
from rasad.core.topics import ensure_topics, pipeline_topics
from rasad.web.app import create_app
from rasad.web.server import server_config
from stream.enrich.cluster import StoryClusters
from stream.enrich.pipeline import enrich
from tests.shared_data import CORPUS

REPO = Path(__file__).resolve().parents[1]
# Enough articles for facets, clusters and charts to mean something; enriching them takes ~s.
CORPUS_ARTICLES = 400
# A feed title an attacker controls: it must show as these characters and run nothing.
HOSTILE_TITLE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2"> ترامب'


# What the web app adds to every change (rasad/web/frontend/src/api.js); the request guard
# refuses a body-less change without it.
WEB_APP_HEADERS = {"X-Requested-With": "rasad"}


def raw_corpus_articles(limit: int = CORPUS_ARTICLES) -> list[Article]:
    """`limit` corpus articles spread over the whole file (so every outlet and month shows), as
    the producers publish them to the raw topic."""
    registry = {f.id: f for f in load_registry()}
    with gzip.open(CORPUS, "rb") as handle:
        lines = handle.read().splitlines()
    stride = max(1, len(lines) // limit)
    out: list[Article] = []
    for line in lines[::stride][:limit]:
        record = orjson.loads(line)
        source = source_for(str(record.get("source") or "unknown"), registry)
        out.append(corpus_article(record, source, f"replay:{CORPUS.name}", datetime.now(UTC)))
    return out


def corpus_articles(limit: int = CORPUS_ARTICLES) -> list[EnrichedArticle]:
    """The same articles enriched by the real enrichment chain."""
    clusters = StoryClusters({})
    return [enrich(a, clusters, a.published_at) for a in raw_corpus_articles(limit)]


def hostile_article(template: EnrichedArticle) -> EnrichedArticle:
    """A real article whose title carries markup, under a new id."""
    return template.model_copy(
        update={"id": uuid.uuid4().hex[:32], "title": HOSTILE_TITLE, "cluster": None}
    )


def web_settings(**overrides: object) -> Settings:
    suffix = uuid.uuid4().hex[:8]
    values: dict[str, object] = {
        "index_prefix": f"test-web-{suffix}",
        "stream_app_id": f"rasad-test-web-{suffix}",
        "topic_raw": f"test.web.raw.{suffix}",
        "topic_enriched": f"test.web.enriched.{suffix}",
        "topic_alert_hits": f"test.web.hits.{suffix}",
        "alert_percolate_batch_s": 0.05,
        "web_port": free_port(),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def _refuse(letter: DeadLetter) -> None:
    raise AssertionError(f"the engine refused corpus article {letter.key!r}: {letter.error}")


async def index_articles(settings: Settings, articles: list[EnrichedArticle]) -> None:
    """Create the index setup for the prefix and index the articles through the real sink."""
    async with await Engine.connect(settings) as engine:
        await ensure_index_setup(engine, settings)
        sink = IndexSink(engine, settings, _refuse)
        for article in articles:
            await sink.add(article)
        await sink.flush()
        await engine.refresh(settings.articles_read_alias)


async def drop_indices(settings: Settings) -> None:
    async with await Engine.connect(settings) as engine:
        await engine.delete_index(f"{settings.index_prefix}-*")
        await engine.request("DELETE", f"/_index_template/{template_name(settings)}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# The settings a `rasad worker` subprocess must share with the test to work on its data.
WORKER_SETTINGS = (
    "stream_app_id", "topic_raw", "topic_enriched", "topic_alert_hits", "index_prefix",
    "alert_percolate_batch_s",
)  # fmt: skip


@contextmanager
def running_worker(settings: Settings, data_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The pipeline's topics, then `rasad worker` (the real entry point: enrichment, indexing,
    alert matching and delivery) on them in a subprocess, stopped with SIGTERM after; its
    topics (Faust's own included) are deleted after."""
    ensure_topics(settings)
    env = {f"RASAD_{name.upper()}": str(getattr(settings, name)) for name in WORKER_SETTINGS}
    env.update(
        RASAD_WORKER_WEB_PORT=str(free_port()),
        RASAD_DATA_DIR=str(data_dir),
        RASAD_LOG_LEVEL="WARNING",
    )
    log = (data_dir / "worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "rasad.cli", "worker"],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)  # a clean Faust shutdown takes a few seconds
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        _delete_topics(settings)


def _delete_topics(settings: Settings) -> None:
    admin = KafkaAdminClient(client_id="rasad-web-tests", **client_config(settings))
    try:
        ours = {spec.name for spec in pipeline_topics(settings)}
        # Faust names its own topics (changelogs, assignor) after the app id.
        mine = [t for t in admin.list_topics() if t in ours or t.startswith(settings.stream_app_id)]
        if mine:
            admin.delete_topics(mine)
    finally:
        admin.close()


class LiveServer:
    """`create_app(settings)` served as `rasad serve` serves it, in a thread on 127.0.0.1."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server = uvicorn.Server(server_config(create_app(settings), settings))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.web_port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = datetime.now(UTC).timestamp() + 20  # startup takes well under a second
        while not self.server.started:
            if datetime.now(UTC).timestamp() > deadline:
                raise RuntimeError("web server did not start")
            threading.Event().wait(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def enriched_corpus() -> list[EnrichedArticle]:
    return corpus_articles()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def indexed(enriched_corpus: list[EnrichedArticle]) -> AsyncIterator[Settings]:
    """Settings whose index prefix holds the corpus articles plus one hostile title."""
    settings = web_settings()
    await index_articles(settings, [*enriched_corpus, hostile_article(enriched_corpus[0])])
    yield settings
    await drop_indices(settings)


@pytest_asyncio.fixture(loop_scope="session")
async def client(indexed: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API in process (ASGI) over the indexed prefix, auth off as in local mode, called as
    the web app calls it: on a loopback Host, every change with its X-Requested-With header."""
    transport = httpx.ASGITransport(app=create_app(indexed))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1", headers=WEB_APP_HEADERS
    ) as http:
        yield http


@pytest.fixture(scope="module")
def worker(
    indexed: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """A real worker on the indexed prefix's topics (it joins its group while tests run)."""
    data_dir = tmp_path_factory.mktemp("web-worker")
    with running_worker(indexed, data_dir) as process:
        yield process
        assert process.poll() is None, (data_dir / "worker.log").read_text()[-3000:]


@pytest.fixture(scope="module")
def live_server(indexed: Settings, worker: subprocess.Popen[bytes]) -> Iterator[LiveServer]:
    """The web app, started after the worker has made the topics its live stream reads."""
    with LiveServer(indexed) as server:
        yield server


async def store_finished_reprocess(
    settings: Settings, corpus: list[EnrichedArticle]
) -> tuple[RunRecord, str]:
    """A finished reprocess of two real articles in the prefix's runs index, as `rasad
    reprocess` stores it, and the tag it changed: one article gains its first tag and entity (it
    was stored without them), another loses that tag (it was stored with it too)."""
    gaining = next(a for a in corpus if len(a.topics) >= 2 and a.entities)
    tag = gaining.topics[0]
    losing = next(a for a in corpus if tag.tag not in {t.tag for t in a.topics})
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-test"
    now = datetime.now(UTC)

    def stored(article: EnrichedArticle, topics: list[TopicTag], skip: int) -> ReprocessRequest:
        """The request for ``article`` stored with ``topics`` and without its first ``skip``
        entities."""
        refs = [EntityRef(type=e.type, id=e.id, name=e.name) for e in article.entities[skip:]]
        previous = Previous(enrichment_id="before", topics=topics, entities=refs)
        raw = Article.model_validate(article.model_dump(include=set(Article.model_fields)))
        return ReprocessRequest(run=run_id, article=raw, previous=previous)

    changes = [
        change_of(stored(gaining, gaining.topics[1:], 1), gaining, now),
        change_of(stored(losing, [*losing.topics, tag], 0), losing, now),
    ]
    run = RunRecord(
        id=run_id, params=RunParams(query="ترامب"), state="done", started_at=now, total=2,
        sent=2, finished_at=now, report=summarize(run_id, changes),
    )  # fmt: skip
    async with await Engine.connect(settings) as engine:
        await ensure_reprocess_indices(engine, settings)
        await save_run(engine, settings, run)
    return run, tag.tag
