"""`rasad enrich`: one article through exactly the agent's enrichment, without Kafka."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from rasad.core.article import EnrichedArticle
from tests.stream_fixtures import REPO, SEED, WIRE_PAIR, corpus_row


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


def test_a_json_lines_file_is_enriched_line_by_line_in_one_process(tmp_path: Path) -> None:
    rows = [corpus_row(i) for i in WIRE_PAIR]
    lines = [
        orjson.dumps({"id": f"wire-{n}", "title": r["title"], "body": r["text"]})
        for n, r in enumerate(rows)
    ]
    path = tmp_path / "articles.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = rasad_enrich(str(path))
    assert result.returncode == 0, result.stderr.decode()
    out = [EnrichedArticle.from_json(line) for line in result.stdout.splitlines()]
    assert [a.id for a in out] == ["wire-0", "wire-1"]
    # One process, one cluster state: the two reports of one story share a cluster.
    assert out[0].cluster is not None and out[1].cluster is not None
    assert out[1].cluster.id == out[0].cluster.id


def test_a_bad_line_is_named_and_counted_and_the_others_still_come_out(tmp_path: Path) -> None:
    row = corpus_row(WIRE_PAIR[0])
    good = orjson.dumps({"id": "good", "title": row["title"], "body": row["text"]})
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"title": "no body"}\n' + good + b"\nnot json\n")
    result = rasad_enrich("--jsonl", str(path))
    assert result.returncode == 1
    assert [EnrichedArticle.from_json(line).id for line in result.stdout.splitlines()] == ["good"]
    stderr = result.stderr.decode()
    assert f"{path}:1:" in stderr and f"{path}:3:" in stderr
    assert "2 of 3 lines refused" in stderr
