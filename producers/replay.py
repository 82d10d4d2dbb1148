"""Offline publishing of recorded data: the JSONL corpus format or saved feed XML files.

For demos, benchmarks and tests without the internet. Articles go through the same
normalization, dedup and publisher as live polls; ``rate`` (articles/s, 0 = unthrottled)
keeps a demo stream steady.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from producers import metrics
from producers.parse import make_article, parse_date, parse_feed
from producers.registry import FeedSpec
from producers.text import clean_text
from rasad.core.article import Article, Source

# Corpus `source` values -> registry ids of the same outlets (ANT corpus naming).
CORPUS_SOURCES = {
    "alarabia": "alarabiya",
    "skynews": "skynews-arabia",
    "france24": "france24-ar",
    "bbc": "bbc-arabic",
    "cnn": "cnn-arabic",
}


class ReplayError(ValueError):
    """A replay input that is missing or not in a format we know (file and line named)."""


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "unknown"


def source_for(name: str, registry: dict[str, FeedSpec]) -> Source:
    """The registry's Source for a corpus/folder name; an outlet we don't list gets 'INT'."""
    spec = registry.get(CORPUS_SOURCES.get(name.lower(), _slug(name)))
    if spec is not None:
        return spec.source
    return Source(id=_slug(name), name=name, country="INT", kind="private")


def corpus_article(record: dict[str, Any], source: Source, feed_url: str, now: datetime) -> Article:
    """One corpus line (id, source, category, url, published, author, title, abstract, text)."""
    raw_date = str(record.get("published") or "")
    return make_article(
        url=str(record["url"]),
        title=clean_text(str(record.get("title") or ""), single_line=True),
        summary=clean_text(str(record.get("abstract") or "")),
        body=clean_text(str(record.get("text") or "")),
        body_kind="full_text",
        published=parse_date(raw_date),
        published_raw=raw_date,
        fetched_at=now,
        source=source,
        feed_url=feed_url,
        language="ar",
        authors=[clean_text(str(record.get("author") or ""), single_line=True)],
        categories=[str(record.get("category") or "")],
    )


def iter_corpus(path: Path, registry: dict[str, FeedSpec], batch: int) -> Iterator[list[Article]]:
    """Batches of articles from a JSONL(.gz) corpus file."""
    feed_url = f"replay:{path.name}"
    sources: dict[str, Source] = {}
    out: list[Article] = []
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
                name = str(record.get("source") or "unknown")
                source = sources.get(name) or sources.setdefault(name, source_for(name, registry))
                out.append(corpus_article(record, source, feed_url, datetime.now(UTC)))
            except (orjson.JSONDecodeError, KeyError, ValueError, AttributeError) as exc:
                raise ReplayError(f"{path}:{lineno}: not a corpus record: {exc}") from exc
            if len(out) >= batch:
                yield out
                out = []
    if out:
        yield out


def iter_feed_files(paths: list[Path], registry: dict[str, FeedSpec]) -> Iterator[list[Article]]:
    """One batch per recorded feed file, in the order given (e.g. a history of snapshots)."""
    for path in paths:
        source = source_for(path.parent.name, registry)
        if source.id == "history":
            source = source_for(path.parent.parent.name, registry)
        parsed = parse_feed(
            path.read_bytes(),
            None,
            source=source,
            feed_url=f"replay:{path.name}",
            fetched_at=datetime.now(UTC),
        )
        yield parsed.articles


def replay_batches(
    path: Path, registry: dict[str, FeedSpec], batch: int
) -> Iterator[list[Article]]:
    """Batches of articles from a corpus file, a feed file, or a folder of feed files."""
    if not path.exists():
        raise ReplayError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".xml", ".rss", ".atom"))
        if not files:
            raise ReplayError(f"{path}: no .xml/.rss/.atom feed files in this folder")
        return _counted(iter_feed_files(files, registry))
    if path.name.endswith((".jsonl", ".jsonl.gz", ".json.gz", ".ndjson")):
        return _counted(iter_corpus(path, registry, batch))
    return _counted(iter_feed_files([path], registry))


def _counted(batches: Iterator[list[Article]]) -> Iterator[list[Article]]:
    for articles in batches:
        metrics.REPLAY_READ.inc(len(articles))
        yield articles
