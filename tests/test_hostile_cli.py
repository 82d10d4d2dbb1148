"""Hostile input to the CLI and to replay gets one clear line and a non-zero exit, never a
traceback; replayed records of the wrong type are refused by file:line and counted (issue 22)."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest

from producers.parse import parse_date
from producers.registry import load_registry
from producers.replay import (
    MAX_FEED_FILE_BYTES,
    MAX_RECORD_BYTES,
    Refusals,
    ReplayError,
    replay_batches,
)
from rasad.core.article import limit_text
from rasad.core.settings import Settings
from tests.producers_fixtures import read_topic
from tests.web_fixtures import raw_corpus_articles

REPO = Path(__file__).resolve().parents[1]
REGISTRY = {f.id: f for f in load_registry()}


def rasad(*args: str | bytes, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rasad.cli", *args],
        cwd=REPO,
        env={**os.environ, "COLUMNS": "400", **env},
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
        check=False,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], says: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert says in done.stderr, done.stderr


def test_a_non_utf8_argument_is_refused_in_one_line() -> None:
    done = rasad("search", b"\xff\xfe\xd8")

    assert_one_line_error(done, "argument 2 is not valid UTF-8")


@pytest.mark.parametrize("command", [["list"], ["create"], ["restore", "nightly"]])
def test_a_snapshot_repository_the_engine_refuses_is_a_configuration_error(
    live_stack: Settings, tmp_path: Path, command: list[str]
) -> None:
    """A location outside the engine's path.repo is the user's to fix, not an outage."""
    repository = f"test-refused-{uuid.uuid4().hex[:10]}"
    try:
        done = rasad(
            "snapshot",
            *command,
            RASAD_DATA_DIR=str(tmp_path),  # not under the engine's path.repo
            RASAD_ENGINE_SNAPSHOT_REPOSITORY=repository,
        )
    finally:
        httpx.delete(f"{live_stack.engine_url}/_snapshot/{repository}", timeout=30)

    assert_one_line_error(done, "RASAD_ENGINE_SNAPSHOT_PATH")
    assert "not answering" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "path.repo" in line and str(tmp_path / "snapshots") in line


def test_a_mistyped_setting_is_named_in_one_line() -> None:
    done = rasad("config", RASAD_WEB_AUTH="apikeyz")

    assert_one_line_error(done, "RASAD_WEB_AUTH: Input should be 'local' or 'apikey'")


@pytest.mark.parametrize("name", ["", "   ", "a\nb", "x" * 101])
def test_an_api_key_without_a_usable_name_is_refused(tmp_path: Path, name: str) -> None:
    done = rasad("apikey", "add", name, RASAD_DATA_DIR=str(tmp_path))

    assert_one_line_error(done, "a key name is 1 to 100 printable characters")


def test_a_throttle_beyond_64_bits_is_refused_before_the_engine() -> None:
    done = rasad("alerts", "add", "--name", "x", "--query", "ترامب", "--throttle", str(2**70))

    assert_one_line_error(done, "less than or equal to 1000000")


def test_a_huge_search_period_is_refused() -> None:
    done = rasad("search", "ترامب", "--since", "999999w")

    assert_one_line_error(done, "at most 100 years back")


def test_enrich_cuts_an_oversized_body_visibly(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("عنوان الخبر\n" + "قال الرئيس إن الحكومة ستجتمع غدا. " * 500, encoding="utf-8")

    done = rasad("enrich", str(path), RASAD_STREAM_ENRICH_MAX_CHARS="2000")

    assert done.returncode == 0, done.stderr
    article = orjson.loads(done.stdout)
    assert (article["body_kind"], len(article["body"])) == ("truncated", 2000)


def test_limit_text_leaves_a_short_article_alone() -> None:
    article = raw_corpus_articles(1)[0]

    assert limit_text(article, 200_000) is article
    cut = limit_text(article, 10)
    assert cut.body_kind == "truncated" and len(cut.title) <= 10 and len(cut.body) <= 10


# --- Replay ---------------------------------------------------------------------------------------

GOOD = {"url": "http://example.com/1", "title": "عنوان", "text": "نص", "source": "bbc"}


def corpus(tmp_path: Path, *records: object) -> Path:
    path = tmp_path / "hostile.jsonl.gz"
    with gzip.open(path, "wb") as handle:
        handle.writelines(orjson.dumps(r) + b"\n" for r in records)
    return path


def read_all(path: Path, refused: Refusals | None = None) -> list[str]:
    return [a.title for batch in replay_batches(path, REGISTRY, 100, refused) for a in batch]


def test_wrongly_typed_fields_are_refused_by_line_never_stringified(tmp_path: Path) -> None:
    path = corpus(
        tmp_path,
        GOOD,
        {**GOOD, "url": "http://example.com/2", "title": {"a": 1}},
        {**GOOD, "url": "http://example.com/3", "text": 123},
        [1, 2],
        {"title": "no url"},
    )
    refused = Refusals()

    titles = read_all(path, refused)

    assert titles == ["عنوان"]
    assert refused.count == 4
    assert refused.reasons[0] == f"{path}:2: title is a JSON dict, not text"
    assert refused.reasons[1] == f"{path}:3: text is a JSON int, not text"


@pytest.mark.parametrize(
    "raw", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00Z"]
)
def test_a_date_at_the_edge_of_the_calendar_is_unparsable_not_a_crash(raw: str) -> None:
    assert parse_date(raw) is None


def read_until_damage(path: Path) -> tuple[list[str], ReplayError]:
    """The urls read from a damaged corpus before the ReplayError that ends it."""
    urls: list[str] = []
    with pytest.raises(ReplayError) as damage:
        for batch in replay_batches(path, REGISTRY, 7):
            urls += [a.url for a in batch]
    return urls, damage.value


def fifty_records(tmp_path: Path) -> Path:
    return corpus(tmp_path, *({**GOOD, "url": f"http://example.com/{i}"} for i in range(50)))


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda data: b"plain text, not gzip\n", ":1: the file is unreadable"),
        (lambda data: data[: len(data) - 20], "the file is truncated"),
        (lambda data: data[:12] + b"\0" * 30 + data[42:], "the file is unreadable"),
    ],
)
def test_a_damaged_corpus_file_is_a_replay_error_naming_it(
    tmp_path: Path, damage: Callable[[bytes], bytes], says: str
) -> None:
    path = fifty_records(tmp_path)
    path.write_bytes(damage(path.read_bytes()))

    _, error = read_until_damage(path)

    assert says in str(error) and str(path) in str(error)


def test_a_truncated_corpus_yields_every_line_before_the_damage(tmp_path: Path) -> None:
    path = fifty_records(tmp_path)
    path.write_bytes(path.read_bytes()[:-20])

    urls, error = read_until_damage(path)

    line = int(str(error).split(":")[1])
    assert 1 < line <= 50
    assert urls == [f"http://example.com/{i}" for i in range(line - 1)]


def test_a_file_that_is_not_a_feed_is_a_replay_error(tmp_path: Path) -> None:
    path = tmp_path / "page.xml"
    path.write_bytes(b"<html><body>not a feed</body></html>")

    with pytest.raises(ReplayError, match="not an RSS/Atom feed"):
        read_all(path)


def test_a_feed_file_past_the_feed_size_cap_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.xml"
    with path.open("wb") as handle:
        handle.truncate(MAX_FEED_FILE_BYTES + 1)  # sparse: costs no disk

    with pytest.raises(ReplayError, match="over 30,000,000 bytes, not a feed"):
        read_all(path)


def replay(path: Path, topic: str) -> subprocess.CompletedProcess[str]:
    """`rasad produce --replay` of a corpus in its own folder, unthrottled, into `topic`."""
    return rasad(
        "produce",
        "--replay",
        str(path),
        "--rate",
        "0",
        RASAD_DATA_DIR=str(path.parent),
        RASAD_TOPIC_RAW=topic,
        RASAD_PRODUCER_METRICS_PORT="0",
    )


def test_replay_summary_counts_the_refused_and_names_them(
    live_stack: Settings, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    path = corpus(tmp_path, GOOD, {**GOOD, "url": "http://example.com/2", "title": ["x"]})

    done = replay(path, new_topic("hostile"))

    assert done.returncode == 1, done.stderr
    assert "1 new" in done.stdout and "1 refused" in done.stdout
    assert f"{path}:2: title is a JSON list, not text" in done.stderr
    assert "1 records refused" in done.stderr


def test_a_truncated_replay_publishes_what_it_read_then_fails_naming_the_line(
    live_stack: Settings, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    path = fifty_records(tmp_path)
    path.write_bytes(path.read_bytes()[:-20])
    topic = new_topic("truncated")

    done = replay(path, topic)

    assert_one_line_error(done, f"{path}:")
    line = int(done.stderr.split(f"{path}:")[1].split(":")[0])
    assert done.returncode == 2 and "the file is truncated" in done.stderr
    published = [article.url for _, article in read_topic(live_stack, topic)]
    assert published == [f"http://example.com/{i}" for i in range(line - 1)]
    assert f"{line - 1} new" in done.stdout


@pytest.mark.parametrize("url", ["http://", "http://[zz", "http://a b", "http://x:99999/"])
@pytest.mark.parametrize("command", ["check", "discover"])
def test_a_broken_url_given_to_feeds_is_refused_in_one_line(command: str, url: str) -> None:
    done = rasad("feeds", command, url)

    assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr, done.stderr
    assert f"{url}: neither an outlet" in done.stdout


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_a_port_out_of_range_is_refused_in_one_line(port: str) -> None:
    done = rasad("serve", RASAD_WEB_PORT=port)

    assert_one_line_error(done, "RASAD_WEB_PORT: Input should be")


def test_a_path_that_looks_like_markup_is_printed_as_it_is(tmp_path: Path) -> None:
    missing = tmp_path / "[/x]" / "corpus.jsonl"

    done = rasad("produce", "--replay", str(missing))

    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"{missing}: no such file or folder" in done.stdout


def test_a_corpus_line_past_the_record_cap_is_refused_by_line_and_the_rest_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "long-line.jsonl"
    with path.open("wb") as handle:
        handle.write(orjson.dumps(GOOD) + b"\n")
        handle.write(b'{"title": "' + b"x" * (MAX_RECORD_BYTES + 1) + b'"}\n')
        handle.write(orjson.dumps({**GOOD, "url": "http://example.com/3"}) + b"\n")
    refused = Refusals()

    titles = read_all(path, refused)

    assert titles == ["عنوان", "عنوان"]
    assert refused.reasons == [f"{path}:2: a record over 10,000,000 bytes"]
