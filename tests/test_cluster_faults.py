"""Faults on a replicated cluster (three Kafka brokers, two OpenSearch nodes), with real
processes: a server dies with SIGKILL in the middle of a stream, and the pipeline carries on
without any of its processes restarting; nothing is lost and nothing is indexed twice.

One cluster is shared by these tests (tests/cluster_fixtures.py); each scenario has its own
topics, consumer group and indices on it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest
from kafka.errors import KafkaError

from rasad.core.settings import Settings
from rasad.stack import control as stack
from tests.cluster_fixtures import (
    CLUSTER_WAIT_S,
    cluster,
    elect,
    green,
    kill,
    manager,
    move_primaries,
    primaries,
    raw_leaders,
    replicated,
)
from tests.fault_fixtures import REPO, Pipeline, corpus_slice, wait_until
from tests.pipeline_env import engine_at
from tests.test_faults import (
    DONE_TIMEOUT_S,
    RATE,
    SLICE,
    _all_indexed,
    _finished,
    _mid_stream,
    _ready,
)

pytestmark = pytest.mark.slow
# Either data node killed: the server, its engine node name, the data node left.
ENGINE_KILLS = [
    ("opensearch", "rasad-node-1", "rasad-node-2"),
    ("opensearch-2", "rasad-node-2", "rasad-node-1"),
]
__all__ = ["cluster", "replicated"]  # fixtures used by name


def test_stack_status_json_lists_every_server_of_the_cluster(cluster: Settings) -> None:
    env = {**os.environ, "RASAD_DATA_DIR": str(cluster.data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "rasad.cli", "stack", "status", "--json"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    servers = {s["name"]: s for s in json.loads(done.stdout)}
    assert sorted(servers) == [
        "kafka", "kafka-2", "kafka-3", "opensearch", "opensearch-2", "opensearch-3"
    ]  # fmt: skip
    assert all(s["healthy"] and s["pid"] for s in servers.values())
    assert servers["kafka-3"]["role"] == "broker+controller"
    assert servers["kafka-3"]["ports"]["broker"] == cluster.stack_kafka_port + 4
    assert servers["opensearch-2"]["role"] == "cluster_manager+data"
    assert servers["opensearch-3"]["role"] == "cluster_manager"  # the tie-breaker


def _indexed_once(line: Pipeline, expected: dict[str, int]) -> None:
    """Every id at its last version, and the engine holds exactly that many documents."""
    _all_indexed(line, expected)
    index = line.settings.articles_read_alias
    url = f"{engine_at(line.settings)}/{index}/_count"
    assert httpx.get(url, timeout=30).json()["count"] == len(expected)


def _leads(line: Pipeline, broker: int) -> bool:
    """Whether ``broker`` still leads a raw partition; unknown (True) while the admin client
    meets the dead broker first and cannot answer."""
    try:
        return broker in raw_leaders(line).values()
    except KafkaError:
        return True


def test_the_broker_leading_the_raw_partitions_killed_mid_stream_loses_nothing(
    replicated: Pipeline, tmp_path: Path
) -> None:
    line = replicated
    expected = corpus_slice(tmp_path / "slice.jsonl", 0, SLICE)
    worker = line.worker()
    _ready(line, 1)
    producer = line.replay(tmp_path / "slice.jsonl", RATE)
    _mid_stream(line)

    leaders = Counter(raw_leaders(line).values())
    victim = leaders.most_common(1)[0][0]
    name = "kafka" if victim == 1 else f"kafka-{victim}"
    kill(line.settings, name)
    try:
        _finished(producer, line)
        _indexed_once(line, expected)
        assert worker.poll() is None, "the worker carried on without a restart"
        wait_until(
            lambda: not _leads(line, victim),
            CLUSTER_WAIT_S,
            f"the partitions of broker {victim} led by the others",
            line,
        )
        published = Counter(k.decode() for k in line.topic_keys(line.settings.topic_raw))
        assert set(published) == set(expected)
    finally:
        stack.start_service(line.settings, name, progress=lambda _m: None)


@pytest.mark.parametrize(("victim", "node", "heir"), ENGINE_KILLS)
def test_an_engine_node_killed_mid_stream_as_manager_hands_over_and_rejoins(
    replicated: Pipeline, tmp_path: Path, victim: str, node: str, heir: str
) -> None:
    """The worst node to lose: the elected cluster manager and the holder of every article
    primary; node 1 is also the first engine URL every process talks to."""
    line = replicated
    s = line.settings
    expected = corpus_slice(tmp_path / "slice.jsonl", SLICE, SLICE)
    articles = f"{s.index_prefix}-articles-*"
    move_primaries(line, articles, node)  # so the kill costs primaries, not replicas
    elect(line, node)
    worker = line.worker()
    _ready(line, 1)
    producer = line.replay(tmp_path / "slice.jsonl", RATE)
    _mid_stream(line)

    kill(s, victim)
    try:
        wait_until(lambda: manager(s) not in ("", node), CLUSTER_WAIT_S, "a new manager", line)
        wait_until(
            lambda: set(primaries(s, articles).values()) == {heir},
            CLUSTER_WAIT_S,
            f"the replicas on {heir} promoted to primaries",
            line,
        )
        _finished(producer, line)
        _indexed_once(line, expected)
        assert worker.poll() is None, "the worker carried on without a restart"
    finally:
        stack.start_service(s, victim, progress=lambda _m: None)
    wait_until(lambda: green(s), DONE_TIMEOUT_S, f"{node} back and every replica rebuilt", line)
    _indexed_once(line, expected)
