"""`rasad search` and `rasad index-stats` as an analyst runs them, against the real engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.index_fixtures import IndexedCorpus, engine, search_corpus

__all__ = ["engine", "search_corpus"]

RASAD = [sys.executable, "-m", "rasad.cli"]
REPO = Path(__file__).resolve().parents[1]


def rasad(corpus: IndexedCorpus, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RASAD_INDEX_PREFIX": corpus.settings.index_prefix, "COLUMNS": "160"}
    return subprocess.run(
        [*RASAD, *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=120
    )


def test_search_prints_a_table_with_highlighted_titles(search_corpus: IndexedCorpus) -> None:
    done = rasad(search_corpus, "search", "والعقوبات", "--topic", "sanctions", "--size", "5")
    assert done.returncode == 0, done.stderr
    assert "عقوب" in done.stdout
    assert "articles," in done.stdout and "topics:" in done.stdout


def test_search_json_has_hits_facets_and_a_cursor(search_corpus: IndexedCorpus) -> None:
    done = rasad(search_corpus, "search", "ترمب", "--entity", "Q794", "--json", "--size", "3")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["total"] > 3 and len(result["hits"]) == 3
    assert result["next_cursor"]
    assert all("Q794" in h["document"]["entity_ids"] for h in result["hits"])
    assert result["facets"]["sources"]


def test_a_bad_query_is_a_clear_message_and_exit_code_2(search_corpus: IndexedCorpus) -> None:
    done = rasad(search_corpus, "search", "(ترامب OR")
    assert done.returncode == 2
    assert "query error" in done.stderr and "Traceback" not in done.stderr


def test_index_stats_shows_counts_and_freshness(search_corpus: IndexedCorpus) -> None:
    done = rasad(search_corpus, "index-stats", "--json")
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert stats["total"] == len(search_corpus.articles)
    assert sum(stats["indices"].values()) == stats["total"]
    assert stats["newest_published_at"].startswith("2018")
    assert stats["newest_indexed_at"]
