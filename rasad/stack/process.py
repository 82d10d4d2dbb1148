"""The local stack's server processes: where each keeps its files, how it is started (a
detached JVM whose PID file, logs and data live under ``data_dir``), and how its health is asked.

Config templates are data files in ``deploy/config``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import string
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from rasad.core.settings import Settings
from rasad.stack.nodes import (
    MANAGER_HEAP,
    MANAGER_ROLE,
    Server,
    engine_discovery,
    engine_node_name,
    kafka_cluster_config,
    server,
    servers,
)
from rasad.stack.provision import (
    KAFKA,
    OPENSEARCH,
    StackError,
    install_dir,
    tail,
    versions,
)

_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "config"
_MAIN_CLASS = {KAFKA: "kafka.Kafka", OPENSEARCH: "io.rasad.stack.OpenSearchLauncher"}

_POLL_S = 0.5  # Health polls are local and cheap; half a second keeps `up` snappy.
_PROBE_TIMEOUT_S = 2.0  # A loopback server that needs longer than this to answer is not ready.
_LOG_TAIL = 30  # Enough of a log to show the exception that stopped a server.

_children: dict[int, subprocess.Popen[bytes]] = {}  # Servers this process started, to reap them.


@dataclass(frozen=True)
class Layout:
    """Where one data_dir keeps each server's files."""

    root: Path

    def data(self, service: str) -> Path:
        return self.root / service

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    def log(self, service: str) -> Path:
        return self.logs / f"{service}.log"

    def console(self, service: str) -> Path:
        """The JVM's own stdout/stderr: crashes that happen before logging starts."""
        return self.logs / f"{service}.stdout.log"

    def pid_file(self, service: str) -> Path:
        return self.run / f"{service}.pid"


def layout_of(settings: Settings) -> Layout:
    return Layout(settings.data_dir.resolve())


def kind(name: str) -> str:
    """The program a server runs: "kafka-2" runs Kafka."""
    return name.split("-")[0]


def ports(settings: Settings, name: str) -> list[tuple[int, str]]:
    node = server(settings, name)
    if node.service == KAFKA:
        return [(node.port, "stack_kafka_port"), (node.peer_port, "stack_kafka_controller_port")]
    return [(node.port, "stack_engine_port"), (node.peer_port, "stack_engine_transport_port")]


def address(settings: Settings, name: str) -> str:
    return server(settings, name).address


def failure_tail(layout: Layout, service: str) -> str:
    console = layout.console(service)
    text = tail(layout.log(service), _LOG_TAIL)
    if console.is_file() and console.stat().st_size > 0:
        text = f"{tail(console, _LOG_TAIL)}\n{text}"
    return text


def live_pid(layout: Layout, service: str) -> int | None:
    """The server's PID if its PID file names a live JVM running this data_dir's server."""
    try:
        pid = int(layout.pid_file(service).read_text().strip())
    except (OSError, ValueError):
        return None
    child = _children.get(pid)
    if child is not None:  # Ours for sure; its cmdline may still be Python's until exec.
        if child.poll() is None:
            return pid
        del _children[pid]
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return None  # Gone (or a zombie's empty cmdline below): the PID file is stale.
    # A recycled PID belongs to some other program: match our main class and data directory.
    # "/" or the argument's end: the data dir of "kafka" is a prefix of "kafka-2"'s.
    home = str(layout.data(service))
    ours = _MAIN_CLASS[kind(service)] in cmdline and any(
        f"{home}{end}" in cmdline for end in ("/", "\0")
    )
    return pid if ours else None


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # Ignore TIME_WAIT leftovers of a server we just stopped; a listener still conflicts.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _jvm(java: Path, heap: str, lib: Path) -> list[str]:
    return [
        str(java),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        # A server out of heap should die and say so, not limp on half-working.
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        "-Djava.net.preferIPv4Stack=true",
        "-Dfile.encoding=UTF-8",
        # log4j's own exit hook would silence the servers' logging midway through a SIGTERM
        # shutdown; the appenders flush every line, so nothing is lost without it.
        "-Dlog4j2.shutdownHookEnabled=false",
        "-cp",
        str(lib / "*"),
    ]


def _render(template: str, target: Path, **values: object) -> None:
    text = string.Template((_CONFIG / template).read_text(encoding="utf-8")).substitute(values)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def _kafka_command(settings: Settings, java: Path, layout: Layout, node: Server) -> list[str]:
    home = layout.data(node.name)
    properties = home / "server.properties"
    _render(
        "kafka-server.properties",
        properties,
        log_dirs=home / "data",
        broker_port=node.port,
        controller_port=node.peer_port,
        **kafka_cluster_config(settings, node),
    )
    jvm = [
        *_jvm(java, settings.stack_kafka_heap, _lib(settings, KAFKA)),
        f"-Dlog4j2.configurationFile={_CONFIG / 'kafka-log4j2.xml'}",
        f"-Dkafka.logs.dir={layout.logs}",
        f"-Drasad.server={node.name}",
    ]
    if not (home / "data" / "meta.properties").is_file():
        _format_kafka(jvm, properties, layout, _cluster_id(layout))
    return [*jvm, _MAIN_CLASS[KAFKA], str(properties)]


def _cluster_id(layout: Layout) -> str:
    """One KRaft cluster id per data_dir: every node of a cluster must be formatted with it."""
    path = layout.run / "kafka-cluster-id"
    if path.is_file():
        return path.read_text().strip()
    cluster_id = "-"
    while cluster_id.startswith("-"):  # Kafka reserves ids that would look like a CLI flag.
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cluster_id + "\n")
    return cluster_id


def _format_kafka(jvm: list[str], properties: Path, layout: Layout, cluster_id: str) -> None:
    """Write the KRaft metadata a new log directory needs."""
    command = [*jvm, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(properties)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StackError(
            f"Kafka's storage tool could not format {properties.parent} (exit "
            f"{done.returncode}); its output below names the cause (a bad stack_kafka_heap or "
            "Java problem shows up here too). If the directory holds broken data from an earlier "
            "run, `rasad stack down --reset` wipes it. Output:\n"
            + "\n".join((done.stdout + done.stderr).splitlines()[-_LOG_TAIL:])
        )


def _opensearch_command(settings: Settings, java: Path, layout: Layout, node: Server) -> list[str]:
    home = layout.data(node.name)
    snapshots = (settings.data_dir / settings.engine_snapshot_path).resolve()
    snapshots.mkdir(parents=True, exist_ok=True)
    _render(
        "opensearch.yml",
        home / "config" / "opensearch.yml",
        data_path=home / "data",
        logs_path=layout.logs,
        http_port=node.port,
        transport_port=node.peer_port,
        snapshot_path=snapshots,
        node_name=engine_node_name(settings, node),
        discovery=engine_discovery(settings, node),
    )
    shutil.copyfile(_CONFIG / "opensearch-log4j2.properties", home / "config" / "log4j2.properties")
    heap = MANAGER_HEAP if node.role == MANAGER_ROLE else settings.stack_engine_heap
    return [
        *_jvm(java, heap, _lib(settings, OPENSEARCH)),
        f"-Drasad.server={node.name}",
        _MAIN_CLASS[OPENSEARCH],
        str(home),
    ]


def _lib(settings: Settings, service: str) -> Path:
    return install_dir(settings, service, versions()[service]) / "lib"


def start_server(settings: Settings, java: Path, layout: Layout, service: str) -> int:
    node = server(settings, service)
    build = _kafka_command if node.service == KAFKA else _opensearch_command
    command = build(settings, java, layout, node)
    with layout.console(service).open("ab") as console:
        child = subprocess.Popen(
            command,
            cwd=layout.data(service),
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Survives the CLI and its ^C.
        )
    _children[child.pid] = child
    layout.pid_file(service).write_text(f"{child.pid}\n")
    return child.pid


# --- Health -------------------------------------------------------------------------------------


def probe(settings: Settings, service: str) -> tuple[bool, str]:
    """Ask the server itself: a Kafka metadata request (is this node an unfenced broker?), or
    OpenSearch's cluster health through this node."""
    node = server(settings, service)
    try:
        socket.create_connection(("127.0.0.1", node.port), timeout=_PROBE_TIMEOUT_S).close()
    except OSError:
        return False, f"nothing listens on 127.0.0.1:{node.port} yet"
    return _probe_kafka(node) if node.service == KAFKA else _probe_opensearch(node)


def _probe_kafka(node: Server) -> tuple[bool, str]:
    from kafka import KafkaAdminClient  # Slow to import; only `up` and `status` need it.

    timeout_ms = int(_PROBE_TIMEOUT_S * 1000)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=node.address,
            client_id="rasad-stack",
            request_timeout_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,
        )
        try:
            cluster = admin.describe_cluster()
        finally:
            admin.close()
    except Exception as exc:  # kafka-python raises many unrelated types while a broker starts
        return False, f"metadata request failed: {exc}"
    brokers = [b for b in cluster.get("brokers", []) if not b.get("is_fenced")]
    if node.node not in {b.get("broker_id") for b in brokers}:
        return False, f"node {node.node} is not an unfenced broker in the metadata yet"
    controller = cluster.get("controller_id")
    return True, (
        f"{len(brokers)} broker{'s' if len(brokers) > 1 else ''}, controller {controller}, "
        f"cluster id {cluster.get('cluster_id')}"
    )


def _probe_opensearch(node: Server) -> tuple[bool, str]:
    # No proxies: a developer's http_proxy must not intercept loopback requests.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    url = f"{node.address}/_cluster/health"
    try:
        with opener.open(url, timeout=_PROBE_TIMEOUT_S) as response:
            health = json.load(response)
    except (OSError, ValueError) as exc:
        return False, f"cluster health request failed: {exc}"
    colour = health.get("status", "unknown")
    return colour in ("green", "yellow"), (
        f"cluster {health.get('cluster_name')} is {colour}, {health.get('number_of_nodes')} node(s)"
    )


def wait_healthy(
    settings: Settings,
    layout: Layout,
    progress: Callable[[str], None],
    services: tuple[str, ...] | None = None,
) -> None:
    deadline = time.monotonic() + settings.stack_start_timeout_s
    pending = list(services) if services is not None else [s.name for s in servers(settings)]
    details: dict[str, str] = {}
    while pending:
        for service in list(pending):
            if live_pid(layout, service) is None:
                raise StackError(
                    f"{service} exited while starting. Its log ({layout.log(service)}) ends "
                    f"with:\n{failure_tail(layout, service)}"
                )
            healthy, details[service] = probe(settings, service)
            if healthy:
                pending.remove(service)
                progress(f"{service} is up at {address(settings, service)}: {details[service]}")
        if pending and time.monotonic() > deadline:
            service = pending[0]
            raise StackError(
                f"{service} did not become healthy within {settings.stack_start_timeout_s:.0f} s "
                f"(setting stack_start_timeout_s; last check: {details[service]}). It is still "
                "running: wait and run `rasad stack status`, or `rasad stack down`. Its log "
                f"({layout.log(service)}) ends with:\n{failure_tail(layout, service)}"
            )
        if pending:
            time.sleep(_POLL_S)


def send_signal(pid: int, signum: int) -> None:
    with suppress(ProcessLookupError):  # It exited on its own in the meantime.
        os.kill(pid, signum)


def wait_exit(layout: Layout, running: dict[str, int], timeout: float) -> dict[str, int]:
    """Wait until the servers have exited; return those still running after `timeout`."""
    deadline = time.monotonic() + timeout
    while running and time.monotonic() < deadline:
        time.sleep(_POLL_S)
        running = {s: p for s, p in running.items() if live_pid(layout, s) is not None}
    return running
