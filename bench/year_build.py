"""Builds bench_year's year-scale index: the enriched corpus replayed with shifted dates.

Each corpus article is enriched once (bench_web's cache) and turned into its engine document
once; copy k of it is that document's JSON with three fields spliced in (a derived id and
cluster id, the publication time moved by k x 365/copies days and wrapped into the year that
ends at the build), so building costs the engine's indexing and almost nothing else.

The build is resumable: after every copy the engine has acknowledged, a checkpoint next to the
enrichment cache records it (with the build's clock, so a resumed build dates its copies like
the first run). Run the same command again after an interruption and it starts at the first
copy not recorded; the ids are derived, so a copy sent twice overwrites itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from indexers.index.documents import article_index, to_document
from indexers.index.templates import ensure_index_setup, write_generation
from rasad.core.article import EnrichedArticle
from rasad.core.engine.client import Engine, EngineUnavailable
from rasad.core.settings import Settings

YEAR = timedelta(days=365)
# ~1,000 documents (~3-5 MB) per bulk request, two in flight: one per core of the engine.
BULK_DOCS = 1000
BULK_IN_FLIGHT = 2
BULK_ATTEMPTS = 4
# A bulk or the first refresh can take minutes on an engine that gets a niced share of a
# loaded box (six jobs on two cores: a build at 30 s died after its four attempts); the engine
# goes on with a request the client gave up on, so a retry only adds to its queue.
BUILD_TIMEOUT_S = 300.0
# While loading: no refresh and a background translog with a large flush threshold (as a
# reindex would); measured with the template's settings again (serving()).
LOADING = {
    "index": {
        "refresh_interval": "-1",
        "translog.durability": "async",
        "translog.flush_threshold_size": "1gb",
    }
}


def serving(settings: Settings) -> dict[str, Any]:
    """The template's settings: its refresh interval (RASAD_INDEX_REFRESH_INTERVAL), durable
    writes, the engine's default flush threshold."""
    return {
        "index": {
            "refresh_interval": settings.index_refresh_interval,
            "translog.durability": "request",
            "translog.flush_threshold_size": "512mb",
        }
    }


# The fields a copy changes; the rest of a document's JSON is shared by all its copies.
SPLICED = ("id", "published_at", "cluster_id")


@dataclass(frozen=True)
class Original:
    """One corpus document: its identity, its date and its JSON without the spliced fields."""

    id: str
    cluster_id: str | None
    published_at: datetime
    rest: bytes  # b'"title":…}' : the JSON object after its opening brace


def originals(articles: list[EnrichedArticle], indexed_at: datetime) -> list[Original]:
    out = []
    for article in articles:
        doc = to_document(article, indexed_at)
        kept = {k: v for k, v in doc.items() if k not in SPLICED}
        out.append(
            Original(
                doc["id"],
                doc["cluster_id"],
                datetime.fromisoformat(doc["published_at"]),
                orjson.dumps(kept)[1:],
            )
        )
    return out


def year_copy(
    original: Original, copy: int, copies: int, end: datetime
) -> tuple[str, datetime, bytes]:
    """Copy ``copy`` of a document: its id, its publication time and its JSON."""
    ident, cluster = original.id, original.cluster_id
    if copy:
        ident = hashlib.sha256(f"{copy}:{original.id}".encode()).hexdigest()[:32]
        cluster = f"{cluster}-y{copy}" if cluster else None
    moved = original.published_at + timedelta(days=copy * 365 // copies)
    published = end - (end - moved) % YEAR
    head = {"id": ident, "published_at": published.isoformat(), "cluster_id": cluster}
    return ident, published, orjson.dumps(head)[:-1] + b"," + original.rest


@dataclass
class Checkpoint:
    """The copies the engine has acknowledged, for one (documents, sample) build."""

    path: Path
    docs: int
    sample: int
    end: datetime
    done: int = 0

    @classmethod
    def load(cls, path: Path, docs: int, sample: int) -> Checkpoint:
        if path.exists():
            saved = orjson.loads(path.read_bytes())
            if saved["docs"] == docs and saved["sample"] == sample:
                return cls(path, docs, sample, datetime.fromisoformat(saved["end"]), saved["done"])
            print(f"  {path} is for another build ({saved}): starting afresh")
        return cls(path, docs, sample, datetime.now(UTC))

    def save(self) -> None:
        state = {"docs": self.docs, "sample": self.sample, "end": self.end.isoformat()}
        self.path.write_bytes(orjson.dumps({**state, "done": self.done}))


async def build(
    settings: Settings, articles: list[EnrichedArticle], checkpoint: Checkpoint, budget_s: float
) -> int:
    """Bulk-load the year copies not yet in ``checkpoint`` (or what ``budget_s`` seconds
    allow), printing progress after each copy; returns the count the index then holds."""
    docs = checkpoint.docs
    copies = -(-docs // len(articles))
    patient = settings.model_copy(update={"engine_timeout_s": BUILD_TIMEOUT_S})
    async with await Engine.connect(patient) as engine:
        await ensure_index_setup(engine, settings)
        generation = await write_generation(engine, settings)
        assert generation is not None
        base = originals(articles, checkpoint.end)
        pattern = f"{settings.index_prefix}-articles-*"
        await engine.put_settings(pattern, LOADING)
        if checkpoint.done:
            print(f"  resuming at copy {checkpoint.done + 1} of {copies}", flush=True)
        started = time.monotonic()
        sent = 0
        for copy in range(checkpoint.done, copies):
            wanted = min(len(base), docs - copy * len(base))
            await _send_copy(engine, generation, base[:wanted], copy, copies, checkpoint.end)
            # The indices of a new year are created by the bulk with the template's settings.
            await engine.put_settings(pattern, LOADING)
            checkpoint.done, sent = copy + 1, sent + wanted
            checkpoint.save()
            elapsed = time.monotonic() - started
            rate = sent / elapsed
            left = docs - min(docs, checkpoint.done * len(base))
            print(
                f"  copy {copy + 1}/{copies}: {min(docs, checkpoint.done * len(base)):,} "
                f"documents, {rate:.0f}/s this run, ~{left / rate / 60:.0f} min left",
                flush=True,
            )
            if elapsed > budget_s:
                print(f"  stopped at the {budget_s:.0f} s budget: run again to resume")
                break
        await engine.put_settings(pattern, serving(settings))
        # The first refresh writes every buffered document: on a busy box, longer than the
        # client's timeout; it goes on in the engine, so ask again until it answers.
        for attempt in range(BULK_ATTEMPTS * 4):
            try:
                await engine.refresh(settings.articles_read_alias)
                break
            except EngineUnavailable:
                if attempt == BULK_ATTEMPTS * 4 - 1:
                    raise
        return int(await engine.count(settings.articles_read_alias))


async def _send_copy(
    engine: Engine,
    generation: str,
    base: list[Original],
    copy: int,
    copies: int,
    end: datetime,
) -> None:
    pending: set[asyncio.Task[None]] = set()
    for at in range(0, len(base), BULK_DOCS):
        lines: list[bytes] = []
        for original in base[at : at + BULK_DOCS]:
            ident, published, body = year_copy(original, copy, copies, end)
            action = {"index": {"_index": article_index(generation, published), "_id": ident}}
            lines += [orjson.dumps(action), body]
        if len(pending) >= BULK_IN_FLIGHT:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # a bulk that failed for good stops the build, loudly
        pending.add(asyncio.create_task(bulk(engine, b"\n".join(lines) + b"\n")))
    await asyncio.gather(*pending)


async def bulk(engine: Engine, payload: bytes) -> None:
    """One bulk request, retried: a loaded engine can outlast the 30 s HTTP timeout, and the
    writes are idempotent (ids). Refused documents stop the build with the first reason."""
    for attempt in range(BULK_ATTEMPTS):
        try:
            answer = await engine.bulk(payload)
            break
        except EngineUnavailable:
            if attempt == BULK_ATTEMPTS - 1:
                raise
            await asyncio.sleep(2**attempt)
    if answer.get("errors"):
        failed = [i for i in answer["items"] if "error" in next(iter(i.values()))]
        raise RuntimeError(f"{len(failed)} documents refused, e.g. {failed[:1]}")
