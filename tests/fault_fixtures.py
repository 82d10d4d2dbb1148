"""Fault-injection fixtures: a SECOND local stack (own ports, own data) and real `rasad` processes.

The fault tests stop brokers and engines and kill workers with SIGKILL; doing that to the shared
stack on 9092/9200 would break every other test running beside them. So one extra Kafka and one
extra OpenSearch are started per session on free loopback ports (small heaps), and each scenario
gets its own topics, consumer group and index prefix on it (:class:`Pipeline`).
"""

from __future__ import annotations

import gzip
import itertools
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import httpx
import orjson
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from producers.replay import corpus_article, source_for
from producers.spool import Spool
from rasad.core.kafka import client_config
from rasad.core.settings import Settings
from rasad.stack import control as stack
from tests.conftest import SHARED_DATA
from tests.pipeline_env import REPO as REPO
from tests.pipeline_env import (
    WORKER_TIMEOUT_S,
    PipelineEnv,
    engine_at,
    free_ports,
    group_members,
    stop,
)

CORPUS = SHARED_DATA / "corpus" / "ant-multisource.jsonl.gz"
# A worker loads its models and joins its group in ~10-20 s; a loaded 2-core CI box needs more
# (see pipeline_env.WORKER_TIMEOUT_S).
SETTLE_TIMEOUT_S = WORKER_TIMEOUT_S
# A slice of the corpus through a worker, in a test: measured on the 2-core machine at load
# average 20-24 (other jobs beside the suite), a niced worker enriched ~1 article/s, so 600
# articles took ~10 minutes. A condition met early ends the wait early; only a failure waits.
STREAM_TIMEOUT_S = 900.0
POLL_S = 0.5


@pytest.fixture(scope="session")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A private Kafka + OpenSearch for this session, wiped afterwards."""
    kafka, controller, engine, transport = free_ports(4)
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("fault-stack"),
        stack_kafka_port=kafka,
        stack_kafka_controller_port=controller,
        stack_engine_port=engine,
        stack_engine_transport_port=transport,
        kafka_bootstrap_servers=f"127.0.0.1:{kafka}",
        engine_url=f"http://127.0.0.1:{engine}",
        # Small heaps: this stack runs beside the shared one on a 2-core, shared CI machine.
        stack_engine_heap="512m",
        stack_kafka_heap="256m",
    )
    stack.up(settings, progress=lambda _msg: None)
    try:
        yield settings
    finally:
        stack.down(settings, reset=True, progress=lambda _msg: None)


def corpus_slice(path: Path, start: int, count: int) -> dict[str, int]:
    """Write ``count`` real corpus lines from ``start`` to ``path``; return what the pipeline
    must end with: each unique article id and the version its last content gets (the corpus
    repeats a few URLs with edited text, which the producers publish as new versions)."""
    hashes: dict[str, list[str]] = {}
    now = datetime.now(UTC)
    with gzip.open(CORPUS, "rb") as source, path.open("wb") as out:
        for line in itertools.islice(source, start, start + count):
            out.write(line)
            record = orjson.loads(line)
            article = corpus_article(record, source_for(str(record["source"]), {}), "-", now)
            seen = hashes.setdefault(article.id, [])
            if article.content_hash not in seen:
                seen.append(article.content_hash)
    return {article_id: len(seen) for article_id, seen in hashes.items()}


def line_ids(path: Path) -> list[str]:
    """The article id of each line of a corpus file, in order (as the producers derive it)."""
    now = datetime.now(UTC)
    records = map(orjson.loads, path.read_bytes().splitlines())
    return [corpus_article(r, source_for(str(r["source"]), {}), "-", now).id for r in records]


class Pipeline(PipelineEnv):
    """One scenario's pipeline on the fault stack: own topics, group, index prefix and logs;
    every `rasad` process it starts is remembered, stopped and checked for crashes."""

    kind: ClassVar[str] = "fault"
    defaults: ClassVar[Mapping[str, str]] = {
        "RASAD_PRODUCER_METRICS_PORT": "0",
        # Reconnect to a broker that came back within a second, not the default 30 s.
        "RASAD_PRODUCER_SPOOL_RETRY_S": "1",
        "RASAD_PRODUCER_SEND_TIMEOUT_S": "10",
        # A producer waits this long on exit for a broker that is restarting (a loaded box
        # restarts one in ~30 s), rather than leaving articles in its spool.
        "RASAD_PRODUCER_DRAIN_TIMEOUT_S": "180",
        # The indexer's retry delay stays short, so recovery is seen within the test.
        "RASAD_INDEXER_BACKOFF_MAX_S": "2",
        "RASAD_LOG_LEVEL": "INFO",
        # Faust's own setting (it reads the environment): a SIGKILLed worker's partitions
        # move after 10 s instead of the default 60 s, so a restart is seen within the test.
        "BROKER_SESSION_TIMEOUT": "10",
    }

    def __init__(
        self, settings: Settings, root: Path, *, extra_env: dict[str, str] | None = None
    ) -> None:
        super().__init__(settings, extra_env=extra_env)  # extra_env: e.g. a quieter log level
        self.root = root
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def rasad(
        self, name: str, *argv: str, data_dir: Path | None = None, **env: str
    ) -> subprocess.Popen[bytes]:
        """Start ``rasad <argv>`` as a subprocess; output goes to ``<root>/<name>.log``."""
        process = self.start(argv, data_dir or self.root / name, self.root / f"{name}.log", **env)
        self.processes.append((name, process))
        return process

    def setup(self, data_dir: Path | None = None) -> None:
        super().setup(data_dir or self.root / "setup")

    def worker(self, name: str = "worker") -> subprocess.Popen[bytes]:
        return self.rasad(name, "worker")

    def replay(
        self, corpus: Path, rate: float, name: str = "producer", **env: str
    ) -> subprocess.Popen[bytes]:
        # One data dir for every run of the producer: its dedup state and spool must survive a
        # restart.
        return self.rasad(
            name,
            "produce",
            "--replay",
            str(corpus),
            "--rate",
            str(rate),
            data_dir=self.root / "p",
            **env,
        )

    @property
    def spool(self) -> Path:
        """The spool file of the producers started by :meth:`replay`."""
        return self.root / "p" / self.settings.producer_spool_path

    def spooled(self) -> int:
        """Articles in the producers' spool now (0 before the first run made it)."""
        if not self.spool.exists():
            return 0
        spool = Spool(self.spool)
        try:
            return spool.size()
        finally:
            spool.close()

    # --- observing ---------------------------------------------------------------------------
    def indexed(self) -> dict[str, int]:
        """Every indexed article id and its version (empty while the engine is away)."""
        url = f"{engine_at(self.settings)}/{self.settings.articles_read_alias}"
        try:
            httpx.post(f"{url}/_refresh", timeout=10)
            found = httpx.post(
                f"{url}/_search",
                json={"size": 10_000, "_source": ["id", "version"], "query": {"match_all": {}}},
                timeout=10,
            )
        except httpx.HTTPError:
            return {}
        if found.status_code != 200:
            return {}
        hits = found.json()["hits"]["hits"]
        return {h["_source"]["id"]: int(h["_source"]["version"]) for h in hits}

    def topic_keys(self, topic: str) -> list[bytes]:
        """Every key in a topic, duplicates included, read from the beginning to the end."""
        return [key for key, _partition, _offset in self.topic_records(topic)]

    def topic_records(self, topic: str) -> list[tuple[bytes, int, int]]:
        """Every record's key, partition and offset, read from the beginning to the end."""
        consumer = KafkaConsumer(enable_auto_commit=False, **client_config(self.settings))
        try:
            parts = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in parts]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            end = consumer.end_offsets(tps)
            found: list[tuple[bytes, int, int]] = []
            while any(consumer.position(tp) < end[tp] for tp in tps):
                for records in consumer.poll(timeout_ms=500).values():
                    found.extend((r.key, r.partition, r.offset) for r in records)
            return found
        finally:
            consumer.close()

    def offsets(self, topic: str) -> str:
        """Per partition of ``topic``: the worker group's committed offset / the end offset
        (``-`` where the group never committed), e.g. ``p0 140/140 p1 -/97``."""
        consumer = KafkaConsumer(enable_auto_commit=False, **client_config(self.settings))
        admin = KafkaAdminClient(client_id="rasad-tests", **client_config(self.settings))
        try:
            parts = sorted(consumer.partitions_for_topic(topic) or ())
            tps = [TopicPartition(topic, p) for p in parts]
            end = consumer.end_offsets(tps)
            group = self.settings.stream_app_id
            committed = admin.list_group_offsets([group]).get(group) or {}
        finally:
            consumer.close()
            admin.close()
        at = {tp: c.offset for tp, c in committed.items()}
        return " ".join(f"p{tp.partition} {at.get(tp, '-')}/{end[tp]}" for tp in tps)

    def missing(self, expected: Mapping[str, int]) -> str:
        """What the engine lacks of ``expected``, and where each stage's topic and offsets
        stand: the raw topic holds a missing id the enrichment never sent on, the enriched topic
        one the indexer never wrote."""
        indexed = self.indexed()
        lacking = sorted(i for i, version in expected.items() if indexed.get(i) != version)
        s = self.settings
        extra = sorted(set(indexed) - set(expected))
        lines = [
            f"{len(lacking)} of {len(expected)} articles missing or stale: {lacking[:20]}; "
            f"{len(extra)} not expected: {extra[:5]}"
        ]
        for stage, topic in (("raw", s.topic_raw), ("enriched", s.topic_enriched)):
            at = {key.decode(): f"p{p}@{o}" for key, p, o in self.topic_records(topic) if key}
            held = [at[i] for i in lacking if i in at]
            lines.append(
                f"{stage} ({topic}): {len(held)} of the missing in it, at {held[:40]}; "
                f"committed/end {self.offsets(topic)}"
            )
        return "\n".join(lines)

    def group_members(self) -> dict[str, int]:
        """Members of the worker group and how many raw-topic partitions each holds."""
        return group_members(self.settings, self.settings.stream_app_id, self.settings.topic_raw)

    def crashed(self) -> list[str]:
        """Processes that exited with an error (a signal we sent gives a negative code)."""
        return [name for name, p in self.processes if (p.poll() or 0) > 0]

    def logs(self) -> str:
        return "\n".join(
            f"==> {p.name} <==\n" + p.read_text(errors="replace")[-3000:]
            for p in sorted(self.root.glob("*.log"))
        )

    # --- ending --------------------------------------------------------------------------------
    def close(self) -> None:
        # 30 s each: a scenario's processes are small, and the whole suite must stay in budget.
        stop((process for _, process in self.processes), timeout_s=30)
        self.delete_topics()


def wait_until(
    check: Callable[[], object],
    timeout: float,
    what: str,
    line: Pipeline,
    explain: Callable[[], str] | None = None,
) -> None:
    """Poll ``check``; fail with ``explain()`` (what is known of the failure) and every
    process's log on a timeout or a crashed process."""
    deadline = time.monotonic() + timeout
    while not check():
        if crashed := line.crashed():
            failed = f"{', '.join(crashed)} crashed waiting for {what}"
        elif time.monotonic() > deadline:
            failed = f"timed out after {timeout:.0f} s waiting for {what}"
        else:
            time.sleep(POLL_S)
            continue
        known = f"{explain()}\n" if explain else ""
        raise AssertionError(f"{failed}\n{known}{line.logs()}")


@pytest.fixture
def pipeline(fault_stack: Settings, tmp_path: Path) -> Iterator[Pipeline]:
    line = Pipeline(fault_stack, tmp_path)
    line.setup()
    try:
        yield line
    finally:
        line.close()
