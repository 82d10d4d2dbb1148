"""Shared helpers of the stream tests: real corpus articles and a real `rasad worker` process."""

from __future__ import annotations

import gzip
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer

from producers.replay import corpus_article, source_for
from rasad.core.article import Article
from rasad.core.kafka import client_config
from rasad.core.settings import Settings
from tests.pipeline_env import REPO as REPO
from tests.pipeline_env import WORKER_TIMEOUT_S as WORKER_TIMEOUT_S
from tests.pipeline_env import PipelineEnv, stop
from tests.shared_data import SHARED

# The stream tests' name for a pipeline on the shared stack.
StreamEnv = PipelineEnv

CORPUS = SHARED / "data" / "corpus" / "ant-multisource.jsonl.gz"
SEED = SHARED / "seed" / "000_40caac64b2919ceb.txt"

# Two reports of one story by two outlets on one day (ANT corpus): near-identical wire copy, and
# the Osaka earthquake of 2018-06-18 written independently by Al Arabiya and France 24.
WIRE_PAIR = ("AL-technology-72-20180228", "SK-technology-119-20180228")
REWRITTEN_PAIR = ("AL-internationalNews-1668-20180618", "FR-internationalNews-1876-20180618")
UNRELATED = "AL-sport-506-20180309"


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


@contextmanager
def running_worker(
    stream_env: StreamEnv, data_dir: Path, *, setup: bool = True
) -> Iterator[subprocess.Popen[bytes]]:
    """`rasad setup` (unless ``setup`` is False: no index yet), then `rasad worker` in a
    subprocess (the real entry point), stopped with SIGTERM after."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if setup:
        stream_env.setup(data_dir)
    process = stream_env.start(["worker"], data_dir, data_dir / "worker.log")
    try:
        yield process
    finally:
        stop([process])


@contextmanager
def worker_env(
    settings: Settings,
    data_dir: Path,
    *,
    setup: bool = True,
    extra_env: dict[str, str] | None = None,
) -> Iterator[StreamEnv]:
    """A fresh pipeline with one running worker; its topics and indices deleted after. The
    worker must still be running when the caller is done (its log tail says why not)."""
    env = StreamEnv(settings, extra_env=extra_env)
    try:
        with running_worker(env, data_dir, setup=setup) as process:
            yield env
            assert process.poll() is None, (data_dir / "worker.log").read_text()[-3000:]
    finally:
        env.delete_topics()


def publish(env: StreamEnv, articles: list[Article]) -> None:
    """Articles to the env's raw topic, keyed by id, as a producer sends them."""
    produce(env.settings, env.raw, [(a.id.encode(), a.to_json()) for a in articles])


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
