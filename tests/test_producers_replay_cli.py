"""Offline replay of the corpus and of recorded feeds, and the `rasad produce` / `feeds` CLI."""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

import orjson
import pytest

from producers.canonical import article_id, canonicalize
from producers.registry import load_registry
from producers.runner import run_replay
from rasad.core.settings import Settings
from tests.producers_fixtures import (
    CORPUS,
    NABD,
    closed_port,
    producer_settings,
    read_topic,
    registry_file,
    run_cli,
    serving,
)

REPO = Path(__file__).resolve().parents[1]


def corpus_head(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "head.jsonl.gz"
    with gzip.open(CORPUS, "rb") as src, gzip.open(path, "wb") as dst:
        dst.writelines(islice(src, n))
    return path


async def test_corpus_replay_publishes_each_story_once_with_its_outlet(
    live_stack: Settings, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    topic = new_topic("producers")
    settings = producer_settings(tmp_path, topic_raw=topic)
    path = corpus_head(tmp_path, 300)
    with gzip.open(path) as handle:
        records = [orjson.loads(line) for line in handle]
    distinct = {article_id(canonicalize(r["url"])) for r in records}

    first = await run_replay(settings, path, load_registry(), rate=0)
    again = await run_replay(settings, path, load_registry(), rate=0)

    assert first.articles == 300 and first.new == len(distinct)
    assert (again.new, again.updated, again.duplicate) == (0, 0, 300)
    messages = read_topic(settings, topic)
    assert len(messages) == first.new + first.updated
    _, article = messages[0]
    assert article.source.id == "alarabiya" and article.source.country == "SA"
    assert article.title == records[0]["title"]
    assert article.published_at.utcoffset() is not None and article.body_kind == "full_text"


async def test_replay_of_recorded_feed_files_and_its_rate_limit(
    live_stack: Settings, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    settings = producer_settings(tmp_path, topic_raw=new_topic("producers"))
    started = time.monotonic()
    totals = await run_replay(settings, NABD / "atom.xml", load_registry(), rate=40)
    assert totals.new == 10
    assert time.monotonic() - started >= 10 / 40 * 0.9  # held to ~40 articles/s


@pytest.fixture
def feed_url() -> Iterator[str]:
    with serving(NABD) as base:
        yield f"{base}/feed.xml"


def test_produce_once_prints_a_summary_and_feeds_status_shows_health(
    live_stack: Settings, new_topic: Callable[..., str], tmp_path: Path, feed_url: str
) -> None:
    topic = new_topic("producers")
    dead = f"http://127.0.0.1:{closed_port()}/rss"
    registry = registry_file(tmp_path, ("nabd", feed_url), ("unreachable", dead))
    once = run_cli(tmp_path, topic, "produce", "--once", "--registry", str(registry))
    status = run_cli(tmp_path, topic, "feeds", "status", "--registry", str(registry))
    assert once.returncode == 0, once.stderr
    assert "Traceback" not in once.stdout + once.stderr
    assert "nabd" in once.stdout and "unreachable" in once.stdout and "connect" in once.stdout
    assert "1 of 2 feeds polled successfully" in once.stdout
    assert status.returncode == 0, status.stderr
    assert "failing" in status.stdout and "ok" in status.stdout


def test_produce_once_fails_only_when_nothing_could_be_done(
    live_stack: Settings, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    registry = registry_file(tmp_path, ("unreachable", f"http://127.0.0.1:{closed_port()}/rss"))
    once = run_cli(
        tmp_path, new_topic("producers"), "produce", "--once", "--registry", str(registry)
    )
    assert once.returncode == 1
    assert "Traceback" not in once.stdout + once.stderr
