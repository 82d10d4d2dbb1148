"""Shared fixtures of the web tests: real corpus articles, enriched and indexed into a fresh
index prefix through the indexer's own sink, and a real `rasad serve` app on a free port."""

from __future__ import annotations

import gzip
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import pytest_asyncio
import uvicorn

from indexers.sink import IndexSink
from indexers.templates import ensure_index_setup, template_name
from producers.registry import load_registry
from producers.replay import corpus_article, source_for
from rasad.article import EnrichedArticle
from rasad.engine import Engine
from rasad.settings import Settings
from rasad.web.app import create_app
from stream.enrich.cluster import StoryClusters
from stream.enrich.pipeline import enrich

CORPUS = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "corpus" / "ant-multisource.jsonl.gz"
)
# Enough articles for facets, clusters and charts to mean something; enriching them takes ~s.
CORPUS_ARTICLES = 400
# A feed title an attacker controls: it must show as these characters and run nothing.
HOSTILE_TITLE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2"> ترامب'


def corpus_articles(limit: int = CORPUS_ARTICLES) -> list[EnrichedArticle]:
    """`limit` corpus articles spread over the whole file (so every outlet and month shows),
    enriched by the real enrichment chain."""
    registry = {f.id: f for f in load_registry()}
    with gzip.open(CORPUS, "rb") as handle:
        lines = handle.read().splitlines()
    stride = max(1, len(lines) // limit)
    clusters = StoryClusters({})
    out: list[EnrichedArticle] = []
    for line in lines[::stride][:limit]:
        record = orjson.loads(line)
        source = source_for(str(record.get("source") or "unknown"), registry)
        article = corpus_article(record, source, f"replay:{CORPUS.name}", datetime.now(UTC))
        out.append(enrich(article, clusters, article.published_at))
    return out


def hostile_article(template: EnrichedArticle) -> EnrichedArticle:
    """A real article whose title carries markup, under a new id."""
    return template.model_copy(
        update={"id": uuid.uuid4().hex[:32], "title": HOSTILE_TITLE, "cluster": None}
    )


def web_settings(**overrides: object) -> Settings:
    suffix = uuid.uuid4().hex[:8]
    values: dict[str, object] = {
        "index_prefix": f"test-web-{suffix}",
        "topic_enriched": f"test.web.enriched.{suffix}",
        "topic_alert_hits": f"test.web.hits.{suffix}",
        "web_port": free_port(),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def _refuse(article: EnrichedArticle, reason: str) -> None:
    raise AssertionError(f"the engine refused corpus article {article.id}: {reason}")


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


class LiveServer:
    """`create_app(settings)` served by uvicorn in a thread on 127.0.0.1 (for the browser)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=settings.web_port,
            log_level="warning",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
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


@pytest.fixture(scope="module")
def live_server(indexed: Settings) -> Iterator[LiveServer]:
    with LiveServer(indexed) as server:
        yield server
