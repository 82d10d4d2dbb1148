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


@contextmanager
def _locked(layout: Layout) -> Iterator[None]:
    """One `up` or `down` at a time per data_dir (the CLI and a test session may race)."""
    layout.run.mkdir(parents=True, exist_ok=True)
    with (layout.run / "stack.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _check_ports(settings: Settings, services: list[str]) -> None:
    names = [name for service in SERVICES for _, name in ports(settings, service)]
    numbers = [port for service in SERVICES for port, _ in ports(settings, service)]
    if len(set(numbers)) != len(numbers):
        raise StackError(f"The settings {', '.join(names)} must be four different ports.")
    for service in services:
        for port, name in ports(settings, service):
            if not port_free(port):
                raise StackError(
                    f"Port {port} on 127.0.0.1 (setting {name}) is already in use by another "
                    f"program, so {service} cannot start. Stop that program (`ss -ltnp "
                    f"'sport = :{port}'` shows it) or set RASAD_{name.upper()} to a free port."
                )


def up(settings: Settings, progress: Callable[[str], None] = print) -> list[ServiceStatus]:
    """Provision if needed, start whatever is not running, and wait until both are healthy."""
    layout = layout_of(settings)
    java = find_java(settings)
    with _locked(layout):
        provision(settings, java, progress)
        to_start = []
        for service in SERVICES:
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
    return status(settings)


def down(settings: Settings, reset: bool = False, progress: Callable[[str], None] = print) -> None:
    """Stop both servers (SIGTERM, then SIGKILL after 30 s); reset also wipes their data."""
    layout = layout_of(settings)
    with _locked(layout):
        running = {s: pid for s in SERVICES if (pid := live_pid(layout, s)) is not None}
        for service, pid in running.items():
            progress(f"Stopping {service} (pid {pid})...")
            send_signal(pid, signal.SIGTERM)
        running = wait_exit(layout, running, STOP_TIMEOUT_S)
        for service, pid in running.items():
            progress(f"{service} ignored SIGTERM for {STOP_TIMEOUT_S:.0f} s; killing it.")
            send_signal(pid, signal.SIGKILL)
        wait_exit(layout, running, STOP_TIMEOUT_S)
        for service in SERVICES:
            layout.pid_file(service).unlink(missing_ok=True)
            if reset:
                shutil.rmtree(layout.data(service), ignore_errors=True)
                progress(f"Wiped {layout.data(service)}.")
    progress("Stack stopped." + ("" if reset else f" Data kept in {layout.root}."))


def _check_service(service: str) -> None:
    if service not in SERVICES:
        raise StackError(f"Unknown service {service!r}; choose one of: {', '.join(SERVICES)}.")


def stop_service(settings: Settings, service: str, progress: Callable[[str], None] = print) -> None:
    """Stop one server and keep its data (fault drills, a restart of one side of the stack)."""
    _check_service(service)
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
    _check_service(service)
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
    layout = layout_of(settings)
    result = []
    for service in SERVICES:
        pid = live_pid(layout, service)
        healthy, detail = probe(settings, service)
        if pid is None:
            detail = "not running" if not healthy else f"not started by {layout.root}: {detail}"
        result.append(
            ServiceStatus(
                name=service,
                running=pid is not None,
                pid=pid,
                address=address(settings, service),
                healthy=healthy,
                detail=detail,
                log_path=layout.log(service),
                data_path=layout.data(service),
            )
        )
    return result


def logs(settings: Settings, service: str | None = None, lines: int = 50) -> str:
    """The last lines of one server's log, or of both under headers."""
    if service is not None and service not in SERVICES:
        raise StackError(f"Unknown service {service!r}; choose one of: {', '.join(SERVICES)}.")
    layout = layout_of(settings)
    chosen = [service] if service else list(SERVICES)
    if len(chosen) == 1:
        return tail(layout.log(chosen[0]), lines)
    return "\n\n".join(f"==> {layout.log(s)} <==\n{tail(layout.log(s), lines)}" for s in chosen)
