"""`rasad enrich`: one article through exactly the agent's enrichment, without Kafka."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from rasad.core.article import EnrichedArticle
from tests.stream_fixtures import REPO, SEED, corpus_row


def rasad_enrich(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "rasad.cli", "enrich", *args],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_the_seed_article_prints_language_entities_and_topics() -> None:
    result = rasad_enrich(str(SEED))
    assert result.returncode == 0, result.stderr.decode()
    out: dict[str, Any] = orjson.loads(result.stdout)
    assert out["lang"]["code"] == "ar"
    assert out["title"] == SEED.read_text(encoding="utf-8").partition("\n")[0].strip()
    assert {e["type"] for e in out["entities"]} <= {"PER", "ORG", "LOC"}
    assert out["entities"], "the seed names people, organisations and places"
    for entity in out["entities"]:
        assert {"type", "name", "name_en", "id", "count", "mentions"} <= set(entity)
        for m in entity["mentions"]:
            assert {"field", "start", "end", "text"} <= set(m)
    assert all({"tag", "score", "evidence"} <= set(t) for t in out["topics"])
    assert out["cluster"]["id"] == out["id"]
    EnrichedArticle.from_json(result.stdout)  # the output is the documented schema


def test_a_json_article_on_stdin_keeps_its_own_fields() -> None:
    row = corpus_row("BB-technology-84-20180316")
    article = {"id": "bbc-plastic", "url": row["url"], "title": row["title"], "body": row["text"]}
    result = rasad_enrich("-", stdin=orjson.dumps(article))
    assert result.returncode == 0, result.stderr.decode()
    out = orjson.loads(result.stdout)
    assert (out["id"], out["url"], out["lang"]["code"]) == ("bbc-plastic", row["url"], "ar")


def test_a_json_article_without_a_body_is_refused_clearly() -> None:
    result = rasad_enrich("-", stdin=b'{"title": "\xd8\xb9\xd9\x86\xd9\x88\xd8\xa7\xd9\x86"}')
    assert result.returncode == 1
    assert b"'title' and 'body'" in result.stderr


def test_text_that_is_not_utf8_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "cp1256.txt"
    path.write_bytes("عنوان\nنص الخبر".encode("cp1256"))
    result = rasad_enrich(str(path))
    assert result.returncode == 1
    assert b"not UTF-8" in result.stderr
    assert result.stdout == b""


def test_a_missing_file_is_refused_clearly(tmp_path: Path) -> None:
    result = rasad_enrich(str(tmp_path / "nope.txt"))
    assert result.returncode == 1
    assert b"cannot read" in result.stderr
