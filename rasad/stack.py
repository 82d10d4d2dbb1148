"""`rasad stack`: a real single-node Kafka (KRaft) and OpenSearch on 127.0.0.1, from Maven jars.

Maven resolves both servers once into ``cache_dir`` (versions are pinned only in
``deploy/stack/pom.xml``); each server then runs as a detached JVM whose PID file, logs and data
live under ``data_dir``. Config templates are data files in ``deploy/config``.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import string
import subprocess
import time
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from rasad.settings import Settings

KAFKA = "kafka"
OPENSEARCH = "opensearch"
SERVICES = (KAFKA, OPENSEARCH)

_DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
_POM = _DEPLOY / "stack" / "pom.xml"
_CONFIG = _DEPLOY / "config"
_MAIN_CLASS = {KAFKA: "kafka.Kafka", OPENSEARCH: "io.rasad.stack.OpenSearchLauncher"}
_VERSION_PROPERTY = {KAFKA: "kafka.version", OPENSEARCH: "opensearch.version"}

MIN_JAVA = 17  # Kafka 4.x brokers and OpenSearch 2.x both need Java 17.
_STOP_TIMEOUT_S = 30.0  # A clean shutdown of either server takes a few seconds; then SIGKILL.
_POLL_S = 0.5  # Health polls are local and cheap; half a second keeps `up` snappy.
_PROBE_TIMEOUT_S = 2.0  # A loopback server that needs longer than this to answer is not ready.
_LOG_TAIL = 30  # Enough of a log to show the exception that stopped a server.
_MAVEN_TAIL = 40  # Maven prints the failing artifact and repository in its last lines.

_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # Maven colours a few lines even in batch mode.
_children: dict[int, subprocess.Popen[bytes]] = {}  # Servers this process started, to reap them.


class StackError(Exception):
    """The local stack cannot do what was asked; the message says what to change."""


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


@dataclass(frozen=True)
class _Layout:
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


def _layout(settings: Settings) -> _Layout:
    return _Layout(settings.data_dir.resolve())


def _ports(settings: Settings, service: str) -> list[tuple[int, str]]:
    if service == KAFKA:
        return [
            (settings.stack_kafka_port, "stack_kafka_port"),
            (settings.stack_kafka_controller_port, "stack_kafka_controller_port"),
        ]
    return [
        (settings.stack_engine_port, "stack_engine_port"),
        (settings.stack_engine_transport_port, "stack_engine_transport_port"),
    ]


def _address(settings: Settings, service: str) -> str:
    if service == KAFKA:
        return f"127.0.0.1:{settings.stack_kafka_port}"
    return f"http://127.0.0.1:{settings.stack_engine_port}"


# --- Java and Maven ----------------------------------------------------------------------------


def _java(settings: Settings) -> Path:
    """The java binary for both servers, checked to be Java 17 or newer."""
    if settings.stack_java_home is not None:
        java, source = settings.stack_java_home / "bin" / "java", "the stack_java_home setting"
    elif os.environ.get("JAVA_HOME"):
        java, source = Path(os.environ["JAVA_HOME"]) / "bin" / "java", "JAVA_HOME"
    else:
        found = shutil.which("java")
        java, source = Path(found or "java"), "PATH"
    if not java.is_file():
        raise StackError(
            f"No Java found (looked at {java}, from {source}). The local stack runs Kafka and "
            f"OpenSearch on a JDK {MIN_JAVA} or newer: install one (e.g. `apt-get install "
            f"openjdk-17-jdk-headless`) and put it on PATH, or set RASAD_STACK_JAVA_HOME "
            "(setting stack_java_home) to its home directory."
        )
    out = subprocess.run([str(java), "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0" is Java 8
        major = int(match.group(2))
    if major < MIN_JAVA:
        raise StackError(
            f"{java} (from {source}) is Java {major or 'of unknown version'}, but the local "
            f"stack needs Java {MIN_JAVA} or newer. Install a newer JDK and point "
            "RASAD_STACK_JAVA_HOME (setting stack_java_home) at it."
        )
    return java


def _versions() -> dict[str, str]:
    """Server versions, read from the pom so that they are pinned in one place."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    props = ET.parse(_POM).getroot().find("m:properties", ns)
    if props is None:
        raise StackError(f"{_POM} has no <properties>; it should pin kafka.version.")
    return {s: props.findtext(f"m:{_VERSION_PROPERTY[s]}", "", ns).strip() for s in SERVICES}


def _fingerprint() -> str:
    """Changes when the pom or the launcher's source does, so the build is redone then."""
    digest = hashlib.sha256(_POM.read_bytes())
    for source in sorted((_POM.parent / "src").rglob("*.java")):
        digest.update(source.read_bytes())
    return digest.hexdigest()


def _install_dir(settings: Settings, service: str, version: str) -> Path:
    return settings.cache_dir.resolve() / "stack" / f"{service}-{version}"


def _built(settings: Settings, service: str, version: str, fingerprint: str) -> bool:
    marker = _install_dir(settings, service, version) / ".provisioned"
    fresh = marker.is_file() and marker.read_text().strip() == fingerprint
    return fresh and (marker.parent / "lib").is_dir()


def provisioned(settings: Settings) -> bool:
    """True when both servers' jars are in the cache and `up` will not run Maven."""
    fingerprint = _fingerprint()
    return all(_built(settings, s, v, fingerprint) for s, v in _versions().items())


def provision(settings: Settings, java: Path, progress: Callable[[str], None] = print) -> None:
    """Resolve each server's runtime classpath with Maven, once per version."""
    fingerprint = _fingerprint()
    missing = {s: v for s, v in _versions().items() if not _built(settings, s, v, fingerprint)}
    mvn = shutil.which("mvn")
    if missing and mvn is None:
        raise StackError(
            "Maven (mvn) is not on PATH. The first `rasad stack up` downloads Kafka and "
            "OpenSearch from Maven Central with it; install Maven 3.6 or newer (e.g. "
            "`apt-get install maven`) and run it again."
        )
    cache = settings.cache_dir.resolve()
    env = {**os.environ, "JAVA_HOME": str(java.resolve().parents[1])}  # Maven's own JDK.
    for service, version in missing.items():
        progress(f"Fetching {service} {version} with Maven into {cache} (first run only)...")
        target = _install_dir(settings, service, version)
        shutil.rmtree(target / "lib", ignore_errors=True)  # No jars left from an older build.
        target.mkdir(parents=True, exist_ok=True)
        log = target / "maven.log"
        command = [str(mvn), "-B", "-ntp", "-Dstyle.color=never", "-f", str(_POM), "-P", service]
        command += ["package", f"-Dmaven.repo.local={cache / 'm2'}"]
        command += [f"-Dstack.out={cache / 'stack'}", f"-Dstack.build.dir={cache / 'stack/build'}"]
        with log.open("wb") as out:
            done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        if done.returncode != 0:
            raise StackError(
                f"Maven could not fetch or build {service} {version} (exit {done.returncode}). "
                "Check that Maven Central is reachable (or that a mirror in ~/.m2/settings.xml "
                f"is); the full output is in {log}. Its last lines:\n"
                + _ANSI.sub("", _tail(log, _MAVEN_TAIL))
            )
        (target / ".provisioned").write_text(fingerprint + "\n")


# --- Processes ---------------------------------------------------------------------------------


def _tail(path: Path, lines: int) -> str:
    if not path.is_file():
        return f"(no log yet at {path})"
    with path.open(encoding="utf-8", errors="replace") as f:
        return "".join(deque(f, maxlen=lines)).rstrip("\n")


def _failure_tail(layout: _Layout, service: str) -> str:
    console = layout.console(service)
    text = _tail(layout.log(service), _LOG_TAIL)
    if console.is_file() and console.stat().st_size > 0:
        text = f"{_tail(console, _LOG_TAIL)}\n{text}"
    return text


def _live_pid(layout: _Layout, service: str) -> int | None:
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
    ours = _MAIN_CLASS[service] in cmdline and str(layout.data(service)) in cmdline
    return pid if ours else None


def _port_free(port: int) -> bool:
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


def _kafka_command(settings: Settings, java: Path, layout: _Layout, lib: Path) -> list[str]:
    home = layout.data(KAFKA)
    properties = home / "server.properties"
    _render(
        "kafka-server.properties",
        properties,
        log_dirs=home / "data",
        broker_port=settings.stack_kafka_port,
        controller_port=settings.stack_kafka_controller_port,
    )
    jvm = [
        *_jvm(java, settings.stack_kafka_heap, lib),
        f"-Dlog4j2.configurationFile={_CONFIG / 'kafka-log4j2.xml'}",
        f"-Dkafka.logs.dir={layout.logs}",
    ]
    if not (home / "data" / "meta.properties").is_file():
        _format_kafka(jvm, properties, layout)
    return [*jvm, _MAIN_CLASS[KAFKA], str(properties)]


def _format_kafka(jvm: list[str], properties: Path, layout: _Layout) -> None:
    """Write the KRaft metadata a new log directory needs, with a fresh cluster id."""
    cluster_id = "-"
    while cluster_id.startswith("-"):  # Kafka reserves ids that would look like a CLI flag.
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    command = [*jvm, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(properties)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StackError(
            f"Kafka's storage tool could not format {layout.data(KAFKA)} (exit "
            f"{done.returncode}); its output below names the cause (a bad stack_kafka_heap or "
            "Java problem shows up here too). If the directory holds broken data from an earlier "
            "run, `rasad stack down --reset` wipes it. Output:\n"
            + "\n".join((done.stdout + done.stderr).splitlines()[-_LOG_TAIL:])
        )


def _opensearch_command(settings: Settings, java: Path, layout: _Layout, lib: Path) -> list[str]:
    home = layout.data(OPENSEARCH)
    _render(
        "opensearch.yml",
        home / "config" / "opensearch.yml",
        data_path=home / "data",
        logs_path=layout.logs,
        http_port=settings.stack_engine_port,
        transport_port=settings.stack_engine_transport_port,
    )
    shutil.copyfile(_CONFIG / "opensearch-log4j2.properties", home / "config" / "log4j2.properties")
    return [
        *_jvm(java, settings.stack_engine_heap, lib),
        _MAIN_CLASS[OPENSEARCH],
        str(home),
    ]


def _start(settings: Settings, java: Path, layout: _Layout, service: str) -> int:
    lib = _install_dir(settings, service, _versions()[service]) / "lib"
    build = _kafka_command if service == KAFKA else _opensearch_command
    command = build(settings, java, layout, lib)
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


# --- Health ------------------------------------------------------------------------------------


def _probe(settings: Settings, service: str) -> tuple[bool, str]:
    """Ask the server itself: a Kafka metadata request, or OpenSearch's cluster health."""
    port = settings.stack_kafka_port if service == KAFKA else settings.stack_engine_port
    try:
        socket.create_connection(("127.0.0.1", port), timeout=_PROBE_TIMEOUT_S).close()
    except OSError:
        return False, f"nothing listens on 127.0.0.1:{port} yet"
    return _probe_kafka(settings) if service == KAFKA else _probe_opensearch(settings)


def _probe_kafka(settings: Settings) -> tuple[bool, str]:
    from kafka import KafkaAdminClient  # Slow to import; only `up` and `status` need it.

    timeout_ms = int(_PROBE_TIMEOUT_S * 1000)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=f"127.0.0.1:{settings.stack_kafka_port}",
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
    if not brokers:
        return False, "no unfenced broker in the metadata yet"
    return True, f"{len(brokers)} broker, cluster id {cluster.get('cluster_id')}"


def _probe_opensearch(settings: Settings) -> tuple[bool, str]:
    # No proxies: a developer's http_proxy must not intercept loopback requests.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    url = f"http://127.0.0.1:{settings.stack_engine_port}/_cluster/health"
    try:
        with opener.open(url, timeout=_PROBE_TIMEOUT_S) as response:
            health = json.load(response)
    except (OSError, ValueError) as exc:
        return False, f"cluster health request failed: {exc}"
    colour = health.get("status", "unknown")
    return colour in ("green", "yellow"), f"cluster {health.get('cluster_name')} is {colour}"


def _wait_healthy(
    settings: Settings,
    layout: _Layout,
    progress: Callable[[str], None],
    services: tuple[str, ...] = SERVICES,
) -> None:
    deadline = time.monotonic() + settings.stack_start_timeout_s
    pending = list(services)
    details: dict[str, str] = {}
    while pending:
        for service in list(pending):
            if _live_pid(layout, service) is None:
                raise StackError(
                    f"{service} exited while starting. Its log ({layout.log(service)}) ends "
                    f"with:\n{_failure_tail(layout, service)}"
                )
            healthy, details[service] = _probe(settings, service)
            if healthy:
                pending.remove(service)
                progress(f"{service} is up at {_address(settings, service)}: {details[service]}")
        if pending and time.monotonic() > deadline:
            service = pending[0]
            raise StackError(
                f"{service} did not become healthy within {settings.stack_start_timeout_s:.0f} s "
                f"(setting stack_start_timeout_s; last check: {details[service]}). It is still "
                "running: wait and run `rasad stack status`, or `rasad stack down`. Its log "
                f"({layout.log(service)}) ends with:\n{_failure_tail(layout, service)}"
            )
        if pending:
            time.sleep(_POLL_S)


# --- Public commands ---------------------------------------------------------------------------


@contextmanager
def _locked(layout: _Layout) -> Iterator[None]:
    """One `up` or `down` at a time per data_dir (the CLI and a test session may race)."""
    layout.run.mkdir(parents=True, exist_ok=True)
    with (layout.run / "stack.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _check_ports(settings: Settings, services: list[str]) -> None:
    names = [name for service in SERVICES for _, name in _ports(settings, service)]
    numbers = [port for service in SERVICES for port, _ in _ports(settings, service)]
    if len(set(numbers)) != len(numbers):
        raise StackError(f"The settings {', '.join(names)} must be four different ports.")
    for service in services:
        for port, name in _ports(settings, service):
            if not _port_free(port):
                raise StackError(
                    f"Port {port} on 127.0.0.1 (setting {name}) is already in use by another "
                    f"program, so {service} cannot start. Stop that program (`ss -ltnp "
                    f"'sport = :{port}'` shows it) or set RASAD_{name.upper()} to a free port."
                )


def _signal(pid: int, signum: int) -> None:
    with suppress(ProcessLookupError):  # It exited on its own in the meantime.
        os.kill(pid, signum)


def _wait_exit(layout: _Layout, running: dict[str, int], timeout: float) -> dict[str, int]:
    """Wait until the servers have exited; return those still running after `timeout`."""
    deadline = time.monotonic() + timeout
    while running and time.monotonic() < deadline:
        time.sleep(_POLL_S)
        running = {s: p for s, p in running.items() if _live_pid(layout, s) is not None}
    return running


def up(settings: Settings, progress: Callable[[str], None] = print) -> list[ServiceStatus]:
    """Provision if needed, start whatever is not running, and wait until both are healthy."""
    layout = _layout(settings)
    java = _java(settings)
    with _locked(layout):
        provision(settings, java, progress)
        to_start = []
        for service in SERVICES:
            pid = _live_pid(layout, service)
            if pid is None:
                to_start.append(service)
            else:
                progress(f"{service} already running (pid {pid}).")
        _check_ports(settings, to_start)
        layout.logs.mkdir(parents=True, exist_ok=True)
        for service in to_start:
            layout.data(service).mkdir(parents=True, exist_ok=True)
            pid = _start(settings, java, layout, service)
            progress(f"Started {service} (pid {pid}); waiting until it is healthy...")
        _wait_healthy(settings, layout, progress)
    return status(settings)


def down(settings: Settings, reset: bool = False, progress: Callable[[str], None] = print) -> None:
    """Stop both servers (SIGTERM, then SIGKILL after 30 s); reset also wipes their data."""
    layout = _layout(settings)
    with _locked(layout):
        running = {s: pid for s in SERVICES if (pid := _live_pid(layout, s)) is not None}
        for service, pid in running.items():
            progress(f"Stopping {service} (pid {pid})...")
            _signal(pid, signal.SIGTERM)
        running = _wait_exit(layout, running, _STOP_TIMEOUT_S)
        for service, pid in running.items():
            progress(f"{service} ignored SIGTERM for {_STOP_TIMEOUT_S:.0f} s; killing it.")
            _signal(pid, signal.SIGKILL)
        _wait_exit(layout, running, _STOP_TIMEOUT_S)
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
    layout = _layout(settings)
    with _locked(layout):
        pid = _live_pid(layout, service)
        if pid is None:
            progress(f"{service} is not running.")
            return
        progress(f"Stopping {service} (pid {pid})...")
        _signal(pid, signal.SIGTERM)
        if _wait_exit(layout, {service: pid}, _STOP_TIMEOUT_S):
            progress(f"{service} ignored SIGTERM for {_STOP_TIMEOUT_S:.0f} s; killing it.")
            _signal(pid, signal.SIGKILL)
            _wait_exit(layout, {service: pid}, _STOP_TIMEOUT_S)
        layout.pid_file(service).unlink(missing_ok=True)


def start_service(
    settings: Settings, service: str, progress: Callable[[str], None] = print
) -> ServiceStatus:
    """Start one server if it is not running and wait until it is healthy (the other is left
    as it is, running or not)."""
    _check_service(service)
    layout = _layout(settings)
    java = _java(settings)
    with _locked(layout):
        if _live_pid(layout, service) is None:
            _check_ports(settings, [service])
            layout.logs.mkdir(parents=True, exist_ok=True)
            layout.data(service).mkdir(parents=True, exist_ok=True)
            pid = _start(settings, java, layout, service)
            progress(f"Started {service} (pid {pid}); waiting until it is healthy...")
        _wait_healthy(settings, layout, progress, (service,))
    return next(s for s in status(settings) if s.name == service)


def status(settings: Settings) -> list[ServiceStatus]:
    """Each server's process and health, asked of the server itself."""
    layout = _layout(settings)
    result = []
    for service in SERVICES:
        pid = _live_pid(layout, service)
        healthy, detail = _probe(settings, service)
        if pid is None:
            detail = "not running" if not healthy else f"not started by {layout.root}: {detail}"
        result.append(
            ServiceStatus(
                name=service,
                running=pid is not None,
                pid=pid,
                address=_address(settings, service),
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
    layout = _layout(settings)
    chosen = [service] if service else list(SERVICES)
    if len(chosen) == 1:
        return _tail(layout.log(chosen[0]), lines)
    return "\n\n".join(f"==> {layout.log(s)} <==\n{_tail(layout.log(s), lines)}" for s in chosen)
