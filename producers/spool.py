"""The local spool: articles the broker has not acknowledged, kept on disk until it has.

A publish failure is never silent: the article is stored here with the error, retried in
order, and counted. An article the broker refuses for good (e.g. too large) is kept as a dead
letter (``dead = 1``) for a person to look at, not retried forever.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from producers.state import Known, known_from, open_db

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    version INTEGER NOT NULL,
    payload BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL,
    dead INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS spool_id ON spool (id);
"""


@dataclass(frozen=True)
class Spooled:
    seq: int
    id: str
    content_hash: str
    version: int
    payload: bytes
    attempts: int


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection = open_db(path)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def add(self, rows: Iterable[tuple[str, str, int, bytes]], error: str) -> list[Spooled]:
        """Keep (id, content_hash, version, payload) rows; returns them as spooled entries."""
        added: list[Spooled] = []
        with self._db:
            self._db.execute("BEGIN")
            for row in rows:
                cursor = self._db.execute(
                    "INSERT INTO spool (id, content_hash, version, payload, error) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (*row, error),
                )
                added.append(Spooled(int(cursor.lastrowid or 0), *row, attempts=0))
        return added

    def pending(self, limit: int) -> list[Spooled]:
        """The oldest live entries, in the order they were spooled."""
        rows = self._db.execute(
            "SELECT seq, id, content_hash, version, payload, attempts FROM spool "
            "WHERE dead = 0 ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [Spooled(*row) for row in rows]

    def lookup(self, ids: Iterable[str]) -> Known:
        """Content hashes and highest version per id among pending (spooled) publishes."""
        return known_from(self._db, "spool", list(ids))

    def remove(self, seqs: Iterable[int]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM spool WHERE seq = ?", [(s,) for s in seqs])

    def failed(self, seqs: Iterable[int], error: str, *, dead: bool = False) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "UPDATE spool SET attempts = attempts + 1, error = ?, dead = ? WHERE seq = ?",
                [(error, int(dead), s) for s in seqs],
            )

    def size(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM spool WHERE dead = 0").fetchone()[0])

    def dead_letters(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM spool WHERE dead = 1").fetchone()[0])
