"""The project's hand-labelled news (``stream/data/labels/``) joined with the texts they label.

The label files hold ids, labels and character offsets, never the articles' text: the texts stay
where ``../shared/data/README.md`` keeps them (the outlets own them), and are read from there.
An entity item's text is rebuilt by the same recipe the annotators saw (:func:`entity_text`),
and checked against the SHA-256 recorded with the labels, so a changed recipe or corpus fails
loudly instead of shifting every offset. The format is documented in docs/annotation.md.

Splits are by outlet: ``test`` items come from outlets (BBC Arabic, CNN Arabic) that nothing is
trained or tuned on; ``train`` and ``dev`` come from the others (dev: a seeded 15% of items).
"""

from __future__ import annotations

import gzip
import hashlib
import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import orjson

LABELS_DIR = Path(__file__).resolve().parents[1] / "data" / "labels"
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
CORPUS = SHARED_DATA / "corpus" / "ant-multisource.jsonl.gz"
FEEDS = SHARED_DATA / "feeds"
# Whitespace tokens of body text an entity item carries after its title: about a news lead.
ENTITY_TOKENS = 220
# The prospect feeds name the outlet after a newline and " - " inside the title.
PROSPECT_OUTLETS = {"اليوم السابع": "youm7", "CNN": "CNN", "الجزيرة": "aljazeera"}
_ATOM = "{http://www.w3.org/2005/Atom}"

Split = Literal["train", "dev", "test"]
EntityType = Literal["PER", "ORG", "LOC"]


class LabelDataError(ValueError):
    """A label file line that is malformed, or whose text can no longer be rebuilt exactly."""


@dataclass(frozen=True, slots=True)
class Source:
    """One labelled item's text as published: its outlet, title and body."""

    id: str
    outlet: str
    category: str | None
    title: str
    body: str


@dataclass(frozen=True, slots=True)
class TopicItem:
    source: Source
    split: Split
    labels: frozenset[str]
    annotator: str
    drawn: str  # how the sampling drew it: "stratified", "test-random", "test-boost:<kw>:title"...


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    type: EntityType


@dataclass(frozen=True, slots=True)
class EntityItem:
    source: Source
    split: Split
    text: str
    title_chars: int  # text[:title_chars] is the title; the lead follows after one "\n"
    spans: tuple[Span, ...]
    annotator: str


def strip_html(markup: str) -> str:
    """Feed markup to the plain text the annotators read."""
    text = re.sub(r"(?i)<br\s*/?>|</p>", "\n", markup or "")
    text = re.sub(r"<[^>]+>", " ", text)
    text = html.unescape(text)
    text = re.sub(r"The post .*? appeared first on .*?\.", " ", text, flags=re.S)
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    return re.sub(r"\s*\n\s*", "\n", text).strip()


def _sentences(body: str) -> list[str]:
    return [p.strip() for p in re.split(r"(?<=[.؟!?])\s+|\n+", body) if p.strip()]


def entity_text(title: str, body: str) -> str:
    """Title, newline, then the body's first sentences up to about :data:`ENTITY_TOKENS`."""
    lead: list[str] = []
    count = 0
    for sentence in _sentences(body):
        words = len(sentence.split())
        if not lead and words > ENTITY_TOKENS:
            lead.append(" ".join(sentence.split()[:ENTITY_TOKENS]))
            break
        if count + words > ENTITY_TOKENS + 15:
            break
        lead.append(sentence)
        count += words
        if count >= ENTITY_TOKENS - 10:
            break
    return f"{title}\n{' '.join(lead)}"


def _feed_entries(path: Path) -> Iterator[tuple[str, str, str]]:
    """(link or id, title, description) of every RSS item and Atom entry of one file."""
    root = ET.parse(path).getroot()
    for item in root.iter("item"):
        yield (
            item.findtext("link") or item.findtext("guid") or "",
            item.findtext("title") or "",
            item.findtext("description") or "",
        )
    for entry in root.iter(_ATOM + "entry"):
        link = entry.find(_ATOM + "link")
        yield (
            entry.findtext(_ATOM + "id") or (link.get("href") or "" if link is not None else ""),
            entry.findtext(_ATOM + "title") or "",
            entry.findtext(_ATOM + "content") or entry.findtext(_ATOM + "summary") or "",
        )


def _feed_files() -> Iterator[tuple[str, Path]]:
    nabd = FEEDS / "nabdsharqi"
    for path in [*sorted((nabd / "history").glob("*.xml")), nabd / "feed.xml", nabd / "atom.xml"]:
        yield "nabdsharqi", path
    for feed in ("hespress", "ahewar"):
        yield feed, FEEDS / "prospect" / f"{feed}.xml"


@lru_cache(maxsize=1)
def feed_items() -> dict[str, Source]:
    """Distinct feed items by label id (``<feed>-<sha1 of link>``), first version kept."""
    seen: set[str] = set()
    out: dict[str, Source] = {}
    for feed, path in _feed_files():
        for link, raw_title, description in _feed_entries(path):
            outlet, title = feed, raw_title.strip()
            named = re.match(r"(?s)(.*?)\s*\n\s*-\s*(.+)$", title)
            if named:
                title, outlet = named.group(1).strip(), PROSPECT_OUTLETS.get(named.group(2), feed)
            body = strip_html(description)
            key = " ".join(body.split())
            if not key or key in seen:
                continue
            seen.add(key)
            item_id = f"{feed}-" + hashlib.sha1((link or key).encode()).hexdigest()[:12]
            out[item_id] = Source(item_id, outlet, None, strip_html(title), body)
    return out


def corpus_sources(ids: Iterable[str]) -> dict[str, Source]:
    """The corpus articles with these ids (one pass over the gzip file)."""
    wanted = set(ids)
    out: dict[str, Source] = {}
    with gzip.open(CORPUS, "rb") as f:
        for line in f:
            row: dict[str, Any] = orjson.loads(line)
            if row["id"] in wanted and row["id"] not in out:
                title, body = (row.get("title") or "").strip(), (row.get("text") or "").strip()
                out[row["id"]] = Source(row["id"], row["source"], row["category"], title, body)
    return out


def sources(ids: Iterable[str]) -> dict[str, Source]:
    """Texts for label ids: feed items by their feed id, everything else from the corpus."""
    ids = list(ids)
    feeds = feed_items()
    found = {i: feeds[i] for i in ids if i in feeds}
    found.update(corpus_sources(i for i in ids if i not in feeds))
    missing = sorted(set(ids) - set(found))
    if missing:
        raise LabelDataError(f"{len(missing)} labelled ids not in ../shared/data: {missing[:5]}")
    return found


def label_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for lineno, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            raise LabelDataError(f"{path.name}:{lineno}: not JSON: {exc}") from None
    return rows


def load_topic_items(path: Path = LABELS_DIR / "topics.jsonl") -> list[TopicItem]:
    rows = label_rows(path)
    texts = sources(r["id"] for r in rows)
    return [
        TopicItem(texts[r["id"]], r["split"], frozenset(r["labels"]), r["annotator"], r["drawn"])
        for r in rows
    ]


def load_entity_items(path: Path = LABELS_DIR / "entities.jsonl") -> list[EntityItem]:
    rows = label_rows(path)
    texts = sources(r["id"] for r in rows)
    items = []
    for lineno, row in enumerate(rows, start=1):
        source = texts[row["id"]]
        text = entity_text(source.title, source.body)
        if hashlib.sha256(text.encode()).hexdigest() != row["text_sha256"]:
            raise LabelDataError(f"{path.name}:{lineno}: {row['id']}: text differs from labelled")
        spans = tuple(Span(s["start"], s["end"], s["type"]) for s in row["entities"])
        items.append(
            EntityItem(source, row["split"], text, len(source.title), spans, row["annotator"])
        )
    return items
