"""`rasad stack`: a real single-node Kafka (KRaft) and OpenSearch on 127.0.0.1, from Maven jars.

Maven resolves both servers once into ``cache_dir`` (versions are pinned only in
``deploy/stack/pom.xml``); each server then runs as a detached JVM whose PID file, logs and data
live under ``data_dir``. Config templates are data files in ``deploy/config``.

This module holds the commands (up, down, status, logs, one service's stop/start); fetching the
servers and finding Java is :mod:`rasad.stack.provision`, running and probing them
:mod:`rasad.stack.process`.
"""

from __future__ import annotations

import fcntl
import shutil
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rasad.core.settings import Settings
from rasad.stack.nodes import (
    bootstrap_servers,
    engine_urls,
    forget_profile,
    save_profile,
    server,
    servers,
    with_profile,
)
from rasad.stack.process import (
    Layout,
    address,
    layout_of,
    live_pid,
    port_free,
    ports,
    probe,
    send_signal,
    start_server,
    wait_exit,
    wait_healthy,
)
from rasad.stack.provision import (
    KAFKA,
    MIN_JAVA,
    OPENSEARCH,
    SERVICES,
    StackError,
    find_java,
    provision,
    provisioned,
    tail,
)

__all__ = [
    "KAFKA",
    "MIN_JAVA",
    "OPENSEARCH",
    "SERVICES",
    "ServiceStatus",
    "StackError",
    "down",
    "logs",
    "provision",
    "provisioned",
    "start_service",
    "status",
    "stop_service",
    "up",
]

STOP_TIMEOUT_S = 30.0  # A clean shutdown of either server takes a few seconds; then SIGKILL.


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    pid: int | None
    address: str
    healthy: bool
    detail: str
    log_path: Path
    data_path: Path
    service: str = ""  # the program: kafka or opensearch
    role: str = ""
    ports: dict[str, int] | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "service": self.service,
            "role": self.role,
            "pid": self.pid,
            "address": self.address,
            "ports": self.ports or {},
            "running": self.running,
            "healthy": self.healthy,
            "detail": self.detail,
            "log": str(self.log_path),
            "data": str(self.data_path),
        }


@contextmanager
def _locked(layout: Layout) -> Iterator[None]:
    """One `up` or `down` at a time per data_dir (the CLI and a test session may race)."""
    layout.run.mkdir(parents=True, exist_ok=True)
    with (layout.run / "stack.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _check_ports(settings: Settings, services: list[str]) -> None:
    names = sorted({name for s in servers(settings) for _, name in ports(settings, s.name)})
    numbers = [port for s in servers(settings) for port, _ in ports(settings, s.name)]
    if len(set(numbers)) != len(numbers):
        raise StackError(
            f"The settings {', '.join(names)} give two servers one port ({sorted(numbers)}): "
            "a cluster's extra nodes take the next ports, so space them further apart."
        )
    for service in services:
        for port, name in ports(settings, service):
            if not port_free(port):
                raise StackError(
                    f"Port {port} on 127.0.0.1 (setting {name}) is already in use by another "
                    f"program, so {service} cannot start. Stop that program (`ss -ltnp "
                    f"'sport = :{port}'` shows it) or set RASAD_{name.upper()} to a free port."
                )


def up(settings: Settings, progress: Callable[[str], None] = print) -> list[ServiceStatus]:
    """Provision if needed, start whatever is not running, and wait until all are healthy.
    The node counts in ``settings`` become this data_dir's profile (see rasad.stack.nodes)."""
    layout = layout_of(settings)
    java = find_java(settings)
    with _locked(layout):
        provision(settings, java, progress)
        save_profile(settings)
        to_start = []
        for service in [s.name for s in servers(settings)]:
            pid = live_pid(layout, service)
            if pid is None:
                to_start.append(service)
            else:
                progress(f"{service} already running (pid {pid}).")
        _check_ports(settings, to_start)
        layout.logs.mkdir(parents=True, exist_ok=True)
        for service in to_start:
            layout.data(service).mkdir(parents=True, exist_ok=True)
            pid = start_server(settings, java, layout, service)
            progress(f"Started {service} (pid {pid}); waiting until it is healthy...")
        wait_healthy(settings, layout, progress)
    if settings.stack_kafka_brokers > 1:
        brokers = bootstrap_servers(settings)
        progress(f"Clients need every broker: RASAD_KAFKA_BOOTSTRAP_SERVERS={brokers}")
    if settings.stack_engine_nodes > 1:
        progress(f"Clients need every engine node: RASAD_ENGINE_URL={engine_urls(settings)}")
    return status(settings)


def down(settings: Settings, reset: bool = False, progress: Callable[[str], None] = print) -> None:
    """Stop every server (SIGTERM, then SIGKILL after 30 s); reset also wipes their data."""
    settings = with_profile(settings)
    layout = layout_of(settings)
    names = [s.name for s in servers(settings)]
    with _locked(layout):
        running = {s: pid for s in names if (pid := live_pid(layout, s)) is not None}
        for service, pid in running.items():
            progress(f"Stopping {service} (pid {pid})...")
            send_signal(pid, signal.SIGTERM)
        running = wait_exit(layout, running, STOP_TIMEOUT_S)
        for service, pid in running.items():
            progress(f"{service} ignored SIGTERM for {STOP_TIMEOUT_S:.0f} s; killing it.")
            send_signal(pid, signal.SIGKILL)
        wait_exit(layout, running, STOP_TIMEOUT_S)
        for service in names:
            layout.pid_file(service).unlink(missing_ok=True)
            if reset:
                shutil.rmtree(layout.data(service), ignore_errors=True)
                progress(f"Wiped {layout.data(service)}.")
        if reset:
            forget_profile(settings)
            (layout.run / "kafka-cluster-id").unlink(missing_ok=True)
    progress("Stack stopped." + ("" if reset else f" Data kept in {layout.root}."))


def stop_service(settings: Settings, service: str, progress: Callable[[str], None] = print) -> None:
    """Stop one server and keep its data (fault drills, a restart of one side of the stack)."""
    settings = with_profile(settings)
    server(settings, service)  # a known name, or a StackError naming the known ones
    layout = layout_of(settings)
    with _locked(layout):
        pid = live_pid(layout, service)
        if pid is None:
            progress(f"{service} is not running.")
            return
        progress(f"Stopping {service} (pid {pid})...")
        send_signal(pid, signal.SIGTERM)
        if wait_exit(layout, {service: pid}, STOP_TIMEOUT_S):
            progress(f"{service} ignored SIGTERM for {STOP_TIMEOUT_S:.0f} s; killing it.")
            send_signal(pid, signal.SIGKILL)
            wait_exit(layout, {service: pid}, STOP_TIMEOUT_S)
        layout.pid_file(service).unlink(missing_ok=True)


def start_service(
    settings: Settings, service: str, progress: Callable[[str], None] = print
) -> ServiceStatus:
    """Start one server if it is not running and wait until it is healthy (the other is left
    as it is, running or not)."""
    settings = with_profile(settings)
    server(settings, service)
    layout = layout_of(settings)
    java = find_java(settings)
    with _locked(layout):
        if live_pid(layout, service) is None:
            _check_ports(settings, [service])
            layout.logs.mkdir(parents=True, exist_ok=True)
            layout.data(service).mkdir(parents=True, exist_ok=True)
            pid = start_server(settings, java, layout, service)
            progress(f"Started {service} (pid {pid}); waiting until it is healthy...")
        wait_healthy(settings, layout, progress, (service,))
    return next(s for s in status(settings) if s.name == service)


def status(settings: Settings) -> list[ServiceStatus]:
    """Each server's process and health, asked of the server itself."""
    settings = with_profile(settings)
    layout = layout_of(settings)
    result = []
    for node in servers(settings):
        pid = live_pid(layout, node.name)
        healthy, detail = probe(settings, node.name)
        if pid is None:
            detail = "not running" if not healthy else f"not started by {layout.root}: {detail}"
        kinds = ("broker", "controller") if node.service == KAFKA else ("http", "transport")
        result.append(
            ServiceStatus(
                name=node.name,
                running=pid is not None,
                pid=pid,
                address=address(settings, node.name),
                healthy=healthy,
                detail=detail,
                log_path=layout.log(node.name),
                data_path=layout.data(node.name),
                service=node.service,
                role=node.role,
                ports=dict(zip(kinds, (node.port, node.peer_port), strict=True)),
            )
        )
    return result


def logs(settings: Settings, service: str | None = None, lines: int = 50) -> str:
    """The last lines of one server's log, or of both under headers."""
    settings = with_profile(settings)
    if service is not None:
        server(settings, service)
    layout = layout_of(settings)
    chosen = [service] if service else [s.name for s in servers(settings)]
    if len(chosen) == 1:
        return tail(layout.log(chosen[0]), lines)
    return "\n\n".join(f"==> {layout.log(s)} <==\n{tail(layout.log(s), lines)}" for s in chosen)
