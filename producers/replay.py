"""Offline publishing of recorded data: the JSONL corpus format or saved feed XML files.

For demos, benchmarks and tests without the internet. Articles go through the same
normalization, dedup and publisher as live polls; ``rate`` (articles/s, 0 = unthrottled)
keeps a demo stream steady.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from producers import metrics
from producers.parse import NotAFeedError, make_article, parse_date, parse_feed
from producers.registry import FeedSpec
from producers.text import clean_text
from rasad.core.article import Article, Source
from rasad.core.lines import bounded_lines

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


# Corpus fields that hold text: a value of another type (a number, an object, a list) is
# refused, never stringified into an article (a title {"a": 1} is not the text "{'a': 1}").
TEXT_FIELDS = ("url", "title", "abstract", "text", "author", "category", "source", "published")
# A recorded feed file larger than this is refused unread: the live poller never parses a feed
# past RASAD_PRODUCER_MAX_DECOMPRESSED_BYTES (30 MB by default), and big feeds are ~3 MB.
MAX_FEED_FILE_BYTES = 30_000_000
# A corpus line longer than this is refused (file:line) without being held in memory: a record
# is one article, and enrichment keeps at most RASAD_STREAM_ENRICH_MAX_CHARS of its text.
MAX_RECORD_BYTES = 10_000_000
# Refusal reasons kept for the summary; the count covers them all.
MAX_REASONS = 20


@dataclass
class Refusals:
    """Records a replay refused: counted, and the first few named with file:line and why."""

    count: int = 0
    reasons: list[str] = field(default_factory=list)

    def add(self, reason: str) -> None:
        self.count += 1
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(reason)


def check_record(record: object) -> str | None:
    """Why a decoded corpus line is not a corpus record, or None if it is one."""
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not an object"
    if not isinstance(record.get("url"), str) or not record["url"].strip():
        return "no url"
    wrong = [
        f"{name} is a JSON {type(record[name]).__name__}, not text"
        for name in TEXT_FIELDS
        if record.get(name) is not None and not isinstance(record[name], str)
    ]
    return "; ".join(wrong) or None


def corpus_article(record: dict[str, Any], source: Source, feed_url: str, now: datetime) -> Article:
    """One corpus line (id, source, category, url, published, author, title, abstract, text);
    its text fields are strings or absent (see :func:`check_record`)."""
    raw_date = record.get("published") or ""
    return make_article(
        url=record["url"],
        title=clean_text(record.get("title") or "", single_line=True),
        summary=clean_text(record.get("abstract") or ""),
        body=clean_text(record.get("text") or ""),
        body_kind="full_text",
        published=parse_date(raw_date),
        published_raw=raw_date,
        fetched_at=now,
        source=source,
        feed_url=feed_url,
        language="ar",
        authors=[clean_text(record.get("author") or "", single_line=True)],
        categories=[record.get("category") or ""],
    )


def _lines(path: Path) -> Iterator[tuple[int, bytes | None]]:
    """Numbered non-blank lines of a JSONL(.gz) file, None for one over MAX_RECORD_BYTES; a
    damaged file is a ReplayError naming the line."""
    lineno = 0
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as handle:
            for lineno, line in bounded_lines(handle, MAX_RECORD_BYTES):
                yield lineno, line
    except (OSError, EOFError, zlib.error) as exc:
        # BadGzipFile is an OSError; a truncated .gz ends in EOFError.
        what = "truncated" if isinstance(exc, EOFError) else f"unreadable ({exc})"
        raise ReplayError(f"{path}:{lineno + 1}: the file is {what}") from exc


def iter_corpus(
    path: Path, registry: dict[str, FeedSpec], batch: int, refused: Refusals | None = None
) -> Iterator[list[Article]]:
    """Batches of articles from a JSONL(.gz) corpus file; bad records go to ``refused``. A file
    damaged part way (truncated, corrupt) yields every article before the damage, then raises
    the ReplayError naming the line."""
    feed_url = f"replay:{path.name}"
    sources: dict[str, Source] = {}
    refused = refused if refused is not None else Refusals()
    out: list[Article] = []
    damage: ReplayError | None = None
    try:
        for lineno, line in _lines(path):
            if line is None:
                refused.add(f"{path}:{lineno}: a record over {MAX_RECORD_BYTES:,} bytes")
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                refused.add(f"{path}:{lineno}: not JSON: {exc}")
                continue
            reason = check_record(record)
            if reason:
                refused.add(f"{path}:{lineno}: {reason}")
                continue
            name = record.get("source") or "unknown"
            source = sources.get(name) or sources.setdefault(name, source_for(name, registry))
            try:
                out.append(corpus_article(record, source, feed_url, datetime.now(UTC)))
            except ValueError as exc:
                refused.add(f"{path}:{lineno}: {str(exc)[:200]}")
                continue
            if len(out) >= batch:
                yield out
                out = []
    except ReplayError as exc:  # the lines read before the damage are still published
        damage = exc
    if out:
        yield out
    if damage is not None:
        raise damage


def iter_feed_files(paths: list[Path], registry: dict[str, FeedSpec]) -> Iterator[list[Article]]:
    """One batch per recorded feed file, in the order given (e.g. a history of snapshots)."""
    for path in paths:
        source = source_for(path.parent.name, registry)
        if source.id == "history":
            source = source_for(path.parent.parent.name, registry)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_FEED_FILE_BYTES + 1)
            if len(data) > MAX_FEED_FILE_BYTES:
                raise ReplayError(f"{path}: over {MAX_FEED_FILE_BYTES:,} bytes, not a feed")
            parsed = parse_feed(
                data,
                None,
                source=source,
                feed_url=f"replay:{path.name}",
                fetched_at=datetime.now(UTC),
            )
        except OSError as exc:
            raise ReplayError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        except NotAFeedError as exc:
            raise ReplayError(f"{path}: {exc}") from exc
        yield parsed.articles


def replay_batches(
    path: Path, registry: dict[str, FeedSpec], batch: int, refused: Refusals | None = None
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
        return _counted(iter_corpus(path, registry, batch, refused))
    return _counted(iter_feed_files([path], registry))


def _counted(batches: Iterator[list[Article]]) -> Iterator[list[Article]]:
    for articles in batches:
        metrics.REPLAY_READ.inc(len(articles))
        yield articles
