"""Shared fixtures of the indexer and search tests: real corpus articles as EnrichedArticles, a
fresh index prefix per test, and a pausable TCP proxy that simulates an engine outage.

The corpus is ANT v2.1 (see ../shared/data/README.md). Entities and topic tags here are simple
(a few well-known names, the feed's category) but shaped exactly like the enrichment stage's.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

import pytest

from indexers.index.sink import IndexSink
from indexers.index.templates import ensure_index_setup
from rasad.core.article import Cluster, EnrichedArticle, Entity, Language, Mention, Source, TopicTag
from rasad.core.deadletter import DeadLetter
from rasad.core.engine.client import Engine
from rasad.core.settings import Settings
from tests.shared_data import CORPUS

SOURCES = {
    "skynews": Source(id="skynewsarabia", name="سكاي نيوز عربية", country="AE", kind="private"),
    "alarabia": Source(id="alarabiya", name="العربية", country="SA", kind="private"),
    "france24": Source(id="france24", name="فرانس 24", country="FR", kind="public-service"),
    "BBC": Source(id="bbcarabic", name="بي بي سي عربي", country="GB", kind="public-service"),
    "CNN": Source(id="cnnarabic", name="سي إن إن بالعربية", country="US", kind="private"),
}
# (surface forms, type, id, canonical name): a tiny gazetteer with the spellings outlets use.
GAZETTEER = [
    (("ترامب", "ترمب"), "PER", "Q22686", "دونالد ترامب"),
    (("بوتين", "بوتن"), "PER", "Q7747", "فلاديمير بوتين"),
    (("نتنياهو", "نتانياهو"), "PER", "Q43723", "بنيامين نتنياهو"),
    (("إيران", "ايران"), "LOC", "Q794", "إيران"),
    (("روسيا",), "LOC", "Q159", "روسيا"),
    (("الولايات المتحدة", "أمريكا"), "LOC", "Q30", "الولايات المتحدة"),
    (("الأمم المتحدة",), "ORG", "Q1065", "الأمم المتحدة"),
    (("حلف الناتو", "الناتو"), "ORG", "Q7184", "حلف شمال الأطلسي"),
]
CATEGORY_TAGS = {
    "internationalNews": "international",
    "middleEast": "middle-east",
    "sport": "sport",
    "economy": "economy",
    "technology": "technology",
    "culture": "culture",
}


@lru_cache(maxsize=4)
def raw_corpus(limit: int | None = None, step: int = 1) -> list[dict[str, Any]]:
    """Every ``step``-th corpus record, at most ``limit`` of them (all 31,525 when None)."""
    out: list[dict[str, Any]] = []
    with gzip.open(CORPUS, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if number % step:
                continue
            out.append(json.loads(line))
            if limit is not None and len(out) >= limit:
                break
    return out


def _word(surface: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w\u0600-\u06FF]){re.escape(surface)}(?![\w\u0600-\u06FF])")


def has_word(text: str, surface: str) -> bool:
    """``surface`` as a whole word (no clitic or suffix attached) in ``text``."""
    return _word(surface).search(text) is not None


def article_text(raw: dict[str, Any]) -> str:
    return f"{raw['title']}\n{raw['abstract']}\n{raw['text']}"


def _entities(title: str, summary: str, body: str) -> list[Entity]:
    found: list[Entity] = []
    for surfaces, etype, eid, name in GAZETTEER:
        mentions: list[Mention] = []
        for field, text in (("title", title), ("summary", summary), ("body", body)):
            for surface in surfaces:
                for m in _word(surface).finditer(text):
                    mentions.append(
                        Mention(field=field, start=m.start(), end=m.end(), text=surface)
                    )
        if mentions:
            in_title = any(m.field == "title" for m in mentions)
            found.append(
                Entity(
                    type=etype,
                    id=eid,
                    name=name,
                    count=len(mentions),
                    salience=min(1.0, 0.2 * len(mentions) + (0.4 if in_title else 0.0)),
                    in_title=in_title,
                    mentions=mentions[:20],
                )
            )
    return found


def to_enriched(raw: dict[str, Any], replica: int = 0, version: int = 1) -> EnrichedArticle:
    """One corpus record as the enrichment stage would emit it; ``replica`` makes distinct ids."""
    published = parsedate_to_datetime(raw["published"]).astimezone(UTC)
    key = raw["id"] if replica == 0 else f"{raw['id']}#{replica}"
    article_id = hashlib.sha256(key.encode()).hexdigest()[:16]
    title, summary, body = raw["title"], raw["abstract"], raw["text"]
    tag = CATEGORY_TAGS.get(raw["category"], "general")
    topics = [TopicTag(tag=tag, score=0.9, evidence=[])]
    if re.search("عقوب", article_text(raw)):
        topics.append(TopicTag(tag="sanctions", score=0.55, evidence=[]))
    entities = _entities(title, summary, body)
    # A stand-in for MinHash clustering: the same day and the same actors make one "story".
    actors = ",".join(sorted(e.id for e in entities)) or article_id
    story = hashlib.sha256(f"{published.date()}|{actors}".encode()).hexdigest()[:16]
    return EnrichedArticle(
        id=article_id,
        url=raw["url"],
        canonical_url=raw["url"],
        title=title,
        summary=summary,
        body=body,
        body_kind="full_text",
        published_at=published,
        fetched_at=published + timedelta(minutes=3),
        source=SOURCES[raw["source"]],
        feed_url=f"https://feeds.example/{raw['source']}/{raw['category']}.xml",
        language="ar",
        authors=[raw["author"]] if raw.get("author") else [],
        categories=[raw["category"]],
        content_hash=hashlib.sha256((title + summary + body).encode()).hexdigest(),
        version=version,
        lang=Language(code="ar", script="Arabic", confidence=0.99),
        entities=entities,
        topics=topics,
        cluster=Cluster(id=story, first_id=story, first_seen=published, exact_duplicate=False),
        enriched_at=published + timedelta(minutes=4),
    )


def fresh_settings(base: Settings, **overrides: Any) -> Settings:
    """Settings with a unique index prefix, so a test sees only its own indices."""
    values = base.model_dump()
    values.update(index_prefix=f"test{uuid.uuid4().hex[:10]}", **overrides)
    return Settings(**values)


async def drop_prefix(engine: Engine, settings: Settings) -> None:
    await engine.delete_index(f"{settings.index_prefix}-*")
    for version in range(1, 4):
        await engine.delete_index_template(f"{settings.index_prefix}-articles-v{version}")


@pytest.fixture(scope="session")
async def engine(live_stack: Settings) -> AsyncIterator[Engine]:
    # A generous timeout: on a shared 2-core machine a refresh can queue behind other work.
    patient = live_stack.model_copy(update={"engine_timeout_s": 120.0})
    async with await Engine.connect(patient) as connected:
        yield connected


@pytest.fixture
async def index_settings(engine: Engine, live_stack: Settings) -> AsyncIterator[Settings]:
    """A fresh, set-up index prefix (template, first index, aliases); dropped after."""
    settings = fresh_settings(live_stack, indexer_backoff_initial_s=0.05, indexer_backoff_max_s=0.5)
    await ensure_index_setup(engine, settings)
    yield settings
    await drop_prefix(engine, settings)


class PausableProxy:
    """A TCP proxy on 127.0.0.1 in front of the real engine. ``pause()`` stops listening and
    cuts live connections (the engine looks down: connection refused); ``resume()`` listens on
    the same port again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def resume(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def pause(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))


def corpus_articles(limit: int) -> Iterator[EnrichedArticle]:
    for raw in raw_corpus(limit):
        yield to_enriched(raw)


# Every 12th corpus article (~2,600, all five outlets): enough to hold every spelling the search
# tests need (ترمب and ترامب, إيران and ايران, عقوبات and والعقوبات …), indexed in seconds.
SEARCH_CORPUS_STEP = 12


@dataclass(frozen=True)
class IndexedCorpus:
    settings: Settings
    # Article id -> the corpus record it came from (for computing expected results).
    raws: dict[str, dict[str, Any]]
    articles: list[EnrichedArticle]


@pytest.fixture(scope="session")
async def search_corpus(engine: Engine, live_stack: Settings) -> AsyncIterator[IndexedCorpus]:
    """A sample of the corpus, indexed once per session through the sink."""
    settings = fresh_settings(live_stack)
    await ensure_index_setup(engine, settings)
    raws = raw_corpus(None, SEARCH_CORPUS_STEP)
    articles = [to_enriched(raw) for raw in raws]

    async def refuse(letter: DeadLetter) -> None:
        raise AssertionError(f"corpus article {letter.key!r} was rejected: {letter.error}")

    sink = IndexSink(engine, settings, refuse)
    for article in articles:
        await sink.add(article)
    await sink.flush()
    await engine.refresh(settings.articles_read_alias)
    yield IndexedCorpus(settings, {a.id: r for a, r in zip(articles, raws, strict=True)}, articles)
    await drop_prefix(engine, settings)
