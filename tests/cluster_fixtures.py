"""A private local CLUSTER for the cluster fault tests: three KRaft Kafka nodes and two
OpenSearch data nodes with their tie-breaker (`rasad stack up --kafka-brokers 3
--engine-nodes 2`) on free loopback ports, started once per session and shared by every cluster
test, wiped afterwards. Clients are given every broker and both data nodes.

Pipelines on it are replicated as in production: topics at replication factor 3 with
min.insync.replicas 2, indices with one replica.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kafka import KafkaAdminClient

from rasad.core.kafka import client_config
from rasad.core.settings import Settings
from rasad.stack import control as stack
from rasad.stack.nodes import bootstrap_servers, engine_urls
from rasad.stack.process import port_free
from tests.fault_fixtures import Pipeline, wait_until
from tests.pipeline_env import engine_at

REPLICATED = {
    "RASAD_KAFKA_REPLICATION_FACTOR": "3",
    "RASAD_KAFKA_MIN_INSYNC_REPLICAS": "2",
    "RASAD_INDEX_REPLICAS": "1",
}
# The engine's node names: two data nodes, then the tie-breaker without data.
ENGINE_NODES = ("rasad-node-1", "rasad-node-2", "rasad-node-3")
# Cluster start on a loaded 2-core box: five JVMs, formatted and joined one after another.
CLUSTER_START_TIMEOUT_S = 600.0
# Shard relocation, replica recovery, a node or broker rejoining: seconds on an idle machine.
CLUSTER_WAIT_S = 240.0


def _free_block(size: int) -> int:
    """The first of ``size`` consecutive free loopback ports (a cluster's nodes take the next
    ports after the configured one)."""
    rng = random.Random()
    while True:
        base = rng.randrange(20_000, 60_000)
        if all(port_free(p) for p in range(base, base + size)):
            return base


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    kafka = _free_block(6)  # broker/controller port pairs of three nodes
    engine, transport = _free_block(3), _free_block(3)  # two data nodes and the tie-breaker
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("cluster"),
        stack_kafka_brokers=3,
        stack_engine_nodes=2,
        stack_kafka_port=kafka,
        stack_kafka_controller_port=kafka + 1,
        stack_engine_port=engine,
        stack_engine_transport_port=transport,
        # Small heaps: five JVMs beside the shared stack and the pipeline on 2 cores, 24 GB.
        stack_kafka_heap="256m",
        stack_engine_heap="512m",
        stack_start_timeout_s=CLUSTER_START_TIMEOUT_S,
        kafka_replication_factor=3,
        kafka_min_insync_replicas=2,
        index_replicas=1,
    )
    clients = {"kafka_bootstrap_servers": bootstrap_servers(settings)}
    settings = settings.model_copy(update={**clients, "engine_url": engine_urls(settings)})
    stack.up(settings, progress=lambda _msg: None)
    try:
        yield settings
    finally:
        stack.down(settings, reset=True, progress=lambda _msg: None)


@pytest.fixture
def replicated(cluster: Settings, tmp_path: Path) -> Iterator[Pipeline]:
    line = Pipeline(cluster, tmp_path, extra_env=REPLICATED)
    line.setup()
    try:
        yield line
    finally:
        line.close()


def kill(settings: Settings, name: str) -> int:
    """SIGKILL one server of the cluster (no shutdown at all); returns its pid."""
    [server] = [s for s in stack.status(settings) if s.name == name]
    assert server.pid is not None, f"{name} is not running"
    os.kill(server.pid, signal.SIGKILL)
    return server.pid


def raw_leaders(line: Pipeline) -> dict[int, int]:
    """Partition -> the broker (node id) leading it, for the pipeline's raw topic."""
    admin = KafkaAdminClient(client_id="cluster-tests", **client_config(line.settings))
    try:
        [topic] = admin.describe_topics([line.settings.topic_raw])
    finally:
        admin.close()
    return {p["partition_index"]: p["leader_id"] for p in topic["partitions"]}


def engine_call(settings: Settings, method: str, path: str, body: object = None) -> object:
    """One request through whichever engine node answers; its JSON (None when it has none)."""
    reply = httpx.request(method, f"{engine_at(settings)}{path}", json=body, timeout=60)
    reply.raise_for_status()
    return reply.json() if reply.content else None


def engine_get(settings: Settings, path: str) -> object:
    return engine_call(settings, "GET", path)


def primaries(settings: Settings, pattern: str) -> dict[str, str]:
    """Index -> the node holding its (one) primary shard, for started primaries."""
    rows = engine_get(settings, f"/_cat/shards/{pattern}?format=json&h=index,prirep,state,node")
    assert isinstance(rows, list)
    return {r["index"]: r["node"] for r in rows if r["prirep"] == "p" and r["state"] == "STARTED"}


def move_primaries(line: Pipeline, pattern: str, to_node: str) -> None:
    """Make ``to_node`` hold the primaries of ``pattern``'s indices, with their replicas on the
    other node: drop the replicas, keep the shards off the other node (the primaries relocate),
    then allow it again and restore one replica there."""
    s = line.settings
    path = f"/{pattern}/_settings"
    away = "rasad-node-1" if to_node == "rasad-node-2" else "rasad-node-2"
    exclude = "index.routing.allocation.exclude._name"
    engine_call(s, "PUT", path, {"index.number_of_replicas": 0, exclude: away})
    wait_until(
        lambda: set(primaries(s, pattern).values()) == {to_node},
        CLUSTER_WAIT_S,
        f"the primaries of {pattern} on {to_node}",
        line,
    )
    engine_call(s, "PUT", path, {"index.number_of_replicas": 1, exclude: None})
    wait_until(lambda: green(s, pattern), CLUSTER_WAIT_S, f"{pattern} green", line)


def manager(settings: Settings) -> str:
    """The name of the elected cluster manager ("" while there is none)."""
    try:
        rows = engine_get(settings, "/_cat/cluster_manager?format=json")
    except httpx.HTTPError:
        return ""
    assert isinstance(rows, list)
    return str(rows[0]["node"]) if rows else ""


def voters(settings: Settings) -> int:
    """How many nodes vote in manager elections now."""
    path = "/_cluster/state/metadata?filter_path=metadata.cluster_coordination"
    state = engine_get(settings, path)
    assert isinstance(state, dict)
    return len(state["metadata"]["cluster_coordination"]["last_committed_config"])


def elect(line: Pipeline, node: str) -> None:
    """Make ``node`` the elected cluster manager, with all three nodes voting again after: the
    others are excluded from the vote until it wins, then let back in."""
    s = line.settings
    others = ",".join(n for n in ENGINE_NODES if n != node)
    engine_call(s, "POST", f"/_cluster/voting_config_exclusions?node_names={others}")
    wait_until(lambda: manager(s) == node, CLUSTER_WAIT_S, f"{node} elected", line)
    engine_call(s, "DELETE", "/_cluster/voting_config_exclusions?wait_for_removal=false")
    wait_until(lambda: voters(s) == len(ENGINE_NODES), CLUSTER_WAIT_S, "all voting", line)
    assert manager(s) == node


def green(settings: Settings, pattern: str = "") -> bool:
    """All primaries and replicas (of ``pattern``, or every index) assigned, every node in."""
    try:
        health = engine_get(settings, f"/_cluster/health/{pattern}")
    except httpx.HTTPError:
        return False
    assert isinstance(health, dict)
    everyone = health["number_of_nodes"] == len(ENGINE_NODES)
    return bool(health["status"] == "green" and everyone and health["number_of_data_nodes"] == 2)
