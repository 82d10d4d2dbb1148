"""The servers of the local stack: one Kafka and one OpenSearch by default, or a cluster
(`rasad stack up --kafka-brokers 3 --engine-nodes 2`) whose extra nodes take the next ports.

The first node of each keeps the single-node name ("kafka", "opensearch") and files, so a
single-node stack looks exactly as before; the others are "kafka-2", "opensearch-2" and so on.
Kafka node n listens on stack_kafka_port + 2(n-1) (controller: stack_kafka_controller_port +
2(n-1)), so 9092/9093, 9094/9095, 9096/9097; OpenSearch node n on stack_engine_port + n-1 and
stack_engine_transport_port + n-1 (9200/9300, 9201/9301, and the tie-breaker of two data
nodes 9202/9302), the engine's own convention.

The profile `up` started (node counts and ports) is saved in ``<data_dir>/run/profile.json``,
so `status`, `logs`, `down` and one server's stop/start see every server without the flags.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rasad.core.settings import Settings
from rasad.stack.provision import KAFKA, OPENSEARCH, StackError

KAFKA_PORT_STEP = 2  # a broker port and a controller port per node
ENGINE_PORT_STEP = 1
# Kafka's internal topics (offsets, transactions) and its default for new topics: three copies,
# two of which must acknowledge a write, once there are three brokers.
KAFKA_MAX_RF, KAFKA_MAX_MIN_ISR = 3, 2
# The tie-breaker engine node holds no shards, only the small cluster state: a quarter of the
# data nodes' smallest useful heap is plenty, and keeps the cluster profile within memory.
MANAGER_ROLE, MANAGER_HEAP = "cluster_manager", "256m"


@dataclass(frozen=True)
class Server:
    name: str
    service: str  # KAFKA or OPENSEARCH: which program
    node: int  # 1-based
    port: int  # Kafka's broker port, OpenSearch's HTTP port
    peer_port: int  # Kafka's controller port, OpenSearch's transport port
    role: str

    @property
    def address(self) -> str:
        if self.service == KAFKA:
            return f"127.0.0.1:{self.port}"
        return f"http://127.0.0.1:{self.port}"


def _profile_file(settings: Settings) -> Path:
    return settings.data_dir.resolve() / "run" / "profile.json"


# What `up` saves: the node counts and the first node's ports (the others follow from them).
PROFILE_FIELDS = (
    "stack_kafka_brokers",
    "stack_engine_nodes",
    "stack_kafka_port",
    "stack_kafka_controller_port",
    "stack_engine_port",
    "stack_engine_transport_port",
)


def with_profile(settings: Settings) -> Settings:
    """The settings with the nodes and ports of the stack `up` last started in this data_dir
    (the settings as they are when none was saved)."""
    try:
        saved = json.loads(_profile_file(settings).read_text())
    except (OSError, ValueError):
        return settings
    return settings.model_copy(update={k: int(saved[k]) for k in PROFILE_FIELDS if k in saved})


def save_profile(settings: Settings) -> None:
    path = _profile_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: getattr(settings, k) for k in PROFILE_FIELDS}) + "\n")


def forget_profile(settings: Settings) -> None:
    _profile_file(settings).unlink(missing_ok=True)


def kafka_nodes(settings: Settings) -> list[Server]:
    n = settings.stack_kafka_brokers
    return [
        Server(
            KAFKA if i == 1 else f"{KAFKA}-{i}",
            KAFKA,
            i,
            settings.stack_kafka_port + KAFKA_PORT_STEP * (i - 1),
            settings.stack_kafka_controller_port + KAFKA_PORT_STEP * (i - 1),
            "broker+controller",
        )
        for i in range(1, n + 1)
    ]


def engine_nodes(settings: Settings) -> list[Server]:
    """The data nodes, every one eligible as cluster manager, and, when they are an even
    number, one more manager-eligible node without data: a cluster needs a majority of
    its manager-eligible nodes to elect one, so two nodes alone could not lose either, while
    two plus this small tie-breaker survive the loss of any one (the elected manager too)."""
    n = settings.stack_engine_nodes
    total = n + 1 if n > 1 and n % 2 == 0 else n
    return [
        Server(
            OPENSEARCH if i == 1 else f"{OPENSEARCH}-{i}",
            OPENSEARCH,
            i,
            settings.stack_engine_port + ENGINE_PORT_STEP * (i - 1),
            settings.stack_engine_transport_port + ENGINE_PORT_STEP * (i - 1),
            MANAGER_ROLE if i > n else "cluster_manager+data",
        )
        for i in range(1, total + 1)
    ]


def servers(settings: Settings) -> list[Server]:
    return kafka_nodes(settings) + engine_nodes(settings)


def server(settings: Settings, name: str) -> Server:
    found = {s.name: s for s in servers(settings)}
    if name not in found:
        raise StackError(f"Unknown server {name!r}; choose one of: {', '.join(found)}.")
    return found[name]


def bootstrap_servers(settings: Settings) -> str:
    """What RASAD_KAFKA_BOOTSTRAP_SERVERS should be for this stack: every broker."""
    return ",".join(s.address for s in kafka_nodes(settings))


def engine_urls(settings: Settings) -> str:
    """What RASAD_ENGINE_URL should be for this stack: every data node, so that a client
    carries on through the others when one dies."""
    return ",".join(s.address for s in engine_nodes(settings) if s.role != MANAGER_ROLE)


def kafka_cluster_config(settings: Settings, node: Server) -> dict[str, object]:
    """The per-node values of deploy/config/kafka-server.properties."""
    brokers = kafka_nodes(settings)
    return {
        "node_id": node.node,
        "voters": ",".join(f"{b.node}@127.0.0.1:{b.peer_port}" for b in brokers),
        "internal_rf": min(KAFKA_MAX_RF, len(brokers)),
        "min_isr": min(KAFKA_MAX_MIN_ISR, len(brokers)),
    }


def engine_node_name(settings: Settings, node: Server) -> str:
    return "rasad-local-node" if settings.stack_engine_nodes == 1 else f"rasad-node-{node.node}"


def engine_discovery(settings: Settings, node: Server) -> str:
    """The discovery lines of deploy/config/opensearch.yml for this node."""
    nodes = engine_nodes(settings)
    if len(nodes) == 1:
        return "discovery.type: single-node"
    seeds = ", ".join(f'"127.0.0.1:{n.peer_port}"' for n in nodes)
    managers = ", ".join(f'"{engine_node_name(settings, n)}"' for n in nodes)
    roles = "[cluster_manager]" if node.role == MANAGER_ROLE else "[cluster_manager, data, ingest]"
    return "\n".join(
        [
            f"discovery.seed_hosts: [{seeds}]",
            f"cluster.initial_cluster_manager_nodes: [{managers}]",
            f"node.roles: {roles}",
        ]
    )
