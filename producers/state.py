"""Persistent producer state (SQLite): what was published (dedup) and each feed's health.

Only the sink thread of the producer touches this (see :mod:`producers.publish`), so one
connection without locking is enough; the asyncio loop never waits on it directly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict

from producers.sitemaps import NewsEntry

# Per article id: every content hash published so far, and the highest version. Every hash, not
# just the last: an outlet's RSS and Atom feeds often carry the same story with different
# bodies, and must not make it ping-pong between two "new versions" forever.
Known = dict[str, tuple[set[str], int]]

HealthState = Literal["new", "ok", "not_modified", "failing", "dead", "disabled"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    version INTEGER NOT NULL,
    published_at TEXT NOT NULL,
    PRIMARY KEY (id, content_hash)
);
CREATE TABLE IF NOT EXISTS feeds (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sitemap_children (url TEXT PRIMARY KEY, data TEXT NOT NULL);
"""

# Per child sitemap URL (of a news sitemap index), its last answer's validators (ETag,
# Last-Modified) and entries: a 304 reuses the entries, so the verdict (ok, stale) still sees
# them. Kept with the feeds' validators so a restart asks conditionally, not for everything.
# News sitemaps are small (Google caps them at 1,000 entries of the last two days).
Validators = dict[str, tuple[str | None, str | None, list[NewsEntry]]]


class FeedHealth(BaseModel):
    """What `rasad feeds status` shows, and what the poller needs to resume after a restart."""

    model_config = ConfigDict(validate_assignment=True)

    id: str
    url: str
    state: HealthState = "new"
    etag: str | None = None
    last_modified: str | None = None
    interval_s: float
    consecutive_failures: int = 0
    permanent_failures: int = 0
    last_success: datetime | None = None
    last_poll: datetime | None = None
    last_error: str | None = None
    last_error_kind: str | None = None
    polls: int = 0
    items_last_poll: int = 0
    new_last_poll: int = 0
    new_per_poll: float = 0.0  # moving average: drives the adaptive interval
    encoding_note: str | None = None
    # The verdict of the last poll, in `rasad feeds check`'s words (producers.check).
    verdict: str | None = None
    verdict_detail: str | None = None
    last_new: datetime | None = None  # the last poll that found a new or updated item
    gap_s: float | None = None  # moving average of the time between two such polls

    def saw_new(self, now: datetime, weight: float) -> None:
        """A poll found news: learn the outlet's usual gap between two news polls."""
        if self.last_new is not None:
            gap = (now - self.last_new).total_seconds()
            self.gap_s = gap if self.gap_s is None else (1 - weight) * self.gap_s + weight * gap
        self.last_new = now

    def is_silent(self, now: datetime, factor: float) -> bool:
        """No news for ``factor`` times the usual gap (never before a gap is known)."""
        if self.last_new is None or self.gap_s is None or self.state in ("disabled", "dead"):
            return False
        usual = max(self.gap_s, self.interval_s)
        return (now - self.last_new).total_seconds() > factor * usual


def open_db(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    # WAL + NORMAL: a crash loses at most the last commit, never corrupts; fsync per commit
    # would cost more than the Kafka round trip it protects.
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def known_from(db: sqlite3.Connection, table: str, ids: list[str]) -> Known:
    """Aggregate (id, content_hash, version) rows of ``table`` for ``ids``."""
    found: Known = {}
    # SQLite's default limit on bound parameters is 999 (older builds): stay under it.
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(
            f"SELECT id, content_hash, version FROM {table} WHERE id IN ({marks})", chunk
        )
        for article_id, content_hash, version in rows:
            hashes, top = found.get(article_id, (set(), 0))
            hashes.add(content_hash)
            found[article_id] = (hashes, max(top, version))
    return found


class StateStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_db(path)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # --- dedup ---------------------------------------------------------------------------------
    def lookup(self, ids: Iterable[str]) -> Known:
        """Published content hashes and highest version of each already-published id."""
        return known_from(self._db, "seen", list(ids))

    def mark_published(self, rows: Iterable[tuple[str, str, int, str]]) -> None:
        """Record (id, content_hash, version, when) AFTER the broker acknowledged them."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO seen (id, content_hash, version, published_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id, content_hash) DO NOTHING",
                rows,
            )

    def published_count(self) -> int:
        return int(self._db.execute("SELECT count(DISTINCT id) FROM seen").fetchone()[0])

    # --- feed health ---------------------------------------------------------------------------
    def load_feeds(self) -> dict[str, FeedHealth]:
        rows = self._db.execute("SELECT data FROM feeds")
        health = (FeedHealth.model_validate_json(row[0]) for row in rows)
        return {h.id: h for h in health}

    def save_feed(self, health: FeedHealth) -> None:
        self._db.execute(
            "INSERT INTO feeds (id, data) VALUES (?, ?) "
            "ON CONFLICT(id) DO UPDATE SET data = excluded.data",
            (health.id, health.model_dump_json()),
        )

    # --- child sitemaps ------------------------------------------------------------------------
    def load_children(self) -> Validators:
        children: Validators = {}
        for url, data in self._db.execute("SELECT url, data FROM sitemap_children"):
            saved = orjson.loads(data)
            entries = [NewsEntry(**entry) for entry in saved["entries"]]
            children[url] = (saved["etag"], saved["last_modified"], entries)
        return children

    def save_children(self, children: Validators) -> None:
        rows = [
            (url, orjson.dumps({"etag": etag, "last_modified": modified, "entries": entries}))
            for url, (etag, modified, entries) in children.items()
        ]
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO sitemap_children (url, data) VALUES (?, ?) "
                "ON CONFLICT(url) DO UPDATE SET data = excluded.data",
                rows,
            )


def read_feed_health(path: Path) -> dict[str, FeedHealth]:
    """Persisted health of every feed polled so far; empty before the first poll.

    Here, not in the runner, so a reader (the web app) does not import the polling machinery
    and with it the producer's metric families.
    """
    if not path.exists():
        return {}
    store = StateStore(path)
    try:
        return store.load_feeds()
    finally:
        store.close()
