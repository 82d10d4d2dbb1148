"""Shared helpers of the stream tests: real corpus articles and a real `rasad worker` process."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import orjson
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from indexers.templates import TEMPLATE_VERSION
from producers.replay import corpus_article, source_for
from rasad.article import Article
from rasad.kafka_config import client_config
from rasad.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "data" / "corpus" / "ant-multisource.jsonl.gz"
SEED = SHARED / "seed" / "000_40caac64b2919ceb.txt"

# Two reports of one story by two outlets on one day (ANT corpus): near-identical wire copy, and
# the Osaka earthquake of 2018-06-18 written independently by Al Arabiya and France 24.
WIRE_PAIR = ("AL-technology-72-20180228", "SK-technology-119-20180228")
REWRITTEN_PAIR = ("AL-internationalNews-1668-20180618", "FR-internationalNews-1876-20180618")
UNRELATED = "AL-sport-506-20180309"

# A worker needs a few seconds to join its group and recover its table; a loaded CI box more.
WORKER_TIMEOUT_S = 120.0


@lru_cache(maxsize=1)
def _corpus_index() -> dict[str, dict[str, Any]]:
    with gzip.open(CORPUS, "rb") as handle:
        rows = [orjson.loads(line) for line in handle]
    return {str(row["id"]): row for row in rows}


def corpus_row(corpus_id: str) -> dict[str, Any]:
    return _corpus_index()[corpus_id]


def corpus_articles(ids: Iterable[str]) -> list[Article]:
    """Corpus records as the producers would publish them (real URLs, ids, sources)."""
    now = datetime.now(UTC)
    out = []
    for corpus_id in ids:
        row = corpus_row(corpus_id)
        out.append(corpus_article(row, source_for(str(row["source"]), {}), "replay:test", now))
    return out


def first_corpus_articles(n: int) -> list[Article]:
    return corpus_articles(list(_corpus_index())[:n])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class StreamEnv:
    """Unique topic names and app id for one worker group, as RASAD_* environment."""

    settings: Settings
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    @property
    def app_id(self) -> str:
        return f"rasad-test-{self.tag}"

    @property
    def raw(self) -> str:
        return f"test.raw.{self.tag}"

    @property
    def enriched(self) -> str:
        return f"test.enriched.{self.tag}"

    @property
    def raw_dead_letters(self) -> str:
        return self.settings.dead_letter_topic(self.raw)

    @property
    def index_prefix(self) -> str:
        """The worker indexes what it enriches: into indices of its own, never the default."""
        return f"test{self.tag}"

    def env(self, data_dir: Path) -> dict[str, str]:
        return {
            **os.environ,
            "RASAD_STREAM_APP_ID": self.app_id,
            "RASAD_TOPIC_RAW": self.raw,
            "RASAD_TOPIC_ENRICHED": self.enriched,
            "RASAD_TOPIC_ALERT_HITS": f"test.hits.{self.tag}",
            "RASAD_INDEX_PREFIX": self.index_prefix,
            "RASAD_WORKER_WEB_PORT": str(free_port()),
            "RASAD_DATA_DIR": str(data_dir),
            "RASAD_LOG_LEVEL": "WARNING",
        }

    def setup(self, data_dir: Path) -> None:
        """`rasad setup` for these topics and this index prefix, as an operator would run it."""
        done = subprocess.run(
            [sys.executable, "-m", "rasad.cli", "setup"],
            cwd=REPO,
            env=self.env(data_dir),
            capture_output=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")

    def delete_topics(self) -> None:
        """Delete everything this env made: its topics and its indices."""
        admin = KafkaAdminClient(client_id="rasad-tests", **client_config(self.settings))
        try:
            mine = [t for t in admin.list_topics() if self.tag in t]
            if mine:
                admin.delete_topics(mine)
        finally:
            admin.close()
        url = self.settings.engine_url
        httpx.delete(f"{url}/{self.index_prefix}-*", timeout=60)
        for version in range(1, TEMPLATE_VERSION + 1):
            httpx.delete(f"{url}/_index_template/{self.index_prefix}-articles-v{version}")


@contextmanager
def running_worker(stream_env: StreamEnv, data_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`rasad setup`, then `rasad worker` in a subprocess (the real entry point), stopped with
    SIGTERM after."""
    data_dir.mkdir(parents=True, exist_ok=True)
    stream_env.setup(data_dir)
    log = (data_dir / "worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "rasad.cli", "worker"],
        cwd=REPO,
        env=stream_env.env(data_dir),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def produce(settings: Settings, topic: str, messages: Iterable[tuple[bytes | None, bytes]]) -> None:
    producer = KafkaProducer(acks="all", **client_config(settings))
    for key, value in messages:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def consume_keys(
    settings: Settings, topic: str, keys: Iterable[bytes], timeout_s: float = WORKER_TIMEOUT_S
) -> dict[bytes, bytes]:
    """The latest value of each wanted key in a topic (read from the beginning); keys that did
    not arrive before the timeout are missing from the result."""
    wanted = set(keys)
    consumer = KafkaConsumer(
        topic, auto_offset_reset="earliest", enable_auto_commit=False, **client_config(settings)
    )
    got: dict[bytes, bytes] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while not wanted <= set(got) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                got.update((r.key, r.value) for r in records if r.key in wanted)
    finally:
        consumer.close()
    return got
