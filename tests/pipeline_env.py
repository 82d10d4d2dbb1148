"""One isolated pipeline per test: unique topics, consumer group and index prefix on a stack, the
RASAD_* environment of its `rasad` subprocesses, `rasad setup`, process start/stop and cleanup.

Shared by the stream tests (tests/stream_fixtures.py, on the shared stack) and the fault tests
(tests/fault_fixtures.py, on a private stack of their own).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import ClassVar

import httpx
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from indexers.index.templates import TEMPLATE_VERSION
from rasad.core.kafka import client_config
from rasad.core.settings import Settings

REPO = Path(__file__).resolve().parents[1]
# A worker loads its models and joins its group in ~10-20 s; on a 2-core CI box with another
# job keeping one core busy it took up to ~90 s; at load average 20+ a niced worker gets a
# tenth of that CPU, so ten minutes (a condition met early ends the wait early).
WORKER_TIMEOUT_S = 600.0
# A clean Faust shutdown takes a few seconds; a loaded box more.
STOP_TIMEOUT_S = 60.0


def free_ports(n: int) -> list[int]:
    """``n`` distinct loopback ports that are free right now (the OS picks them)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def free_port() -> int:
    return free_ports(1)[0]


def wait_for(
    condition: str, check: Callable[[], bool], timeout_s: float = WORKER_TIMEOUT_S
) -> None:
    """Poll ``check`` until it holds; fail naming ``condition`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"not reached in {timeout_s:.0f} s: {condition}")


def engine_at(settings: Settings) -> str:
    """The first of the engine's URLs that answers (the first when none does): on a cluster,
    a test goes on asking the nodes still alive while one of them is killed."""
    for url in settings.engine_urls:
        try:
            httpx.get(url, timeout=10)
        except httpx.TransportError:
            continue
        return url
    return settings.engine_urls[0]


def group_members(settings: Settings, group: str, topic: str) -> dict[str, int]:
    """Members of a consumer group and how many partitions of ``topic`` each holds (empty while
    there is no coordinator, e.g. a broker restarting)."""
    try:
        admin = KafkaAdminClient(client_id="rasad-tests", **client_config(settings))
        try:
            info = admin.describe_groups([group])[group]
        finally:
            admin.close()
    except KafkaError:
        return {}
    out = {}
    for member in info.get("members") or []:
        assigned = (member.get("member_assignment") or {}).get("assigned_partitions") or []
        out[str(member["member_id"])] = sum(
            len(a["partitions"]) for a in assigned if a["topic"] == topic
        )
    return out


class PipelineEnv:
    """Unique topic names, consumer group and index prefix for one pipeline on a stack.

    ``settings`` are the stack's settings with this pipeline's names; ``env()`` is the same as
    RASAD_* environment for a `rasad` subprocess (the caller's environment, the stack's
    addresses, these names, then ``defaults``, ``extra_env`` and per-call overrides).
    """

    kind: ClassVar[str] = "test"  # first word of every name, so leftovers say who made them
    defaults: ClassVar[Mapping[str, str]] = {"RASAD_LOG_LEVEL": "WARNING"}

    def __init__(
        self,
        settings: Settings,
        *,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.tag = uuid.uuid4().hex[:10]
        self.extra_env = dict(extra_env or {})
        # The web port of the first process started (see metrics_url); later ones get their own.
        self.web_port = free_port()
        self._started = 0
        kind, tag = self.kind, self.tag
        self.settings = settings.model_copy(
            update={
                "topic_raw": f"{kind}.raw.{tag}",
                "topic_enriched": f"{kind}.enriched.{tag}",
                "topic_alert_hits": f"{kind}.hits.{tag}",
                "topic_reprocess": f"{kind}.reprocess.{tag}",
                "stream_app_id": f"rasad-{kind}-{tag}",
                "index_prefix": f"{kind}-{tag}",
            }
        )

    @property
    def app_id(self) -> str:
        return self.settings.stream_app_id

    @property
    def raw(self) -> str:
        return self.settings.topic_raw

    @property
    def enriched(self) -> str:
        return self.settings.topic_enriched

    @property
    def raw_dead_letters(self) -> str:
        return self.settings.dead_letter_topic(self.raw)

    @property
    def index_prefix(self) -> str:
        """The worker indexes into indices of its own, never the default ones."""
        return self.settings.index_prefix

    @property
    def metrics_url(self) -> str:
        """The /metrics page of the first worker started with :meth:`start`."""
        return f"http://127.0.0.1:{self.web_port}/metrics"

    def env(self, data_dir: Path, **extra: str) -> dict[str, str]:
        s = self.settings
        return {
            **os.environ,
            "RASAD_KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
            "RASAD_ENGINE_URL": s.engine_url,
            "RASAD_TOPIC_RAW": s.topic_raw,
            "RASAD_TOPIC_ENRICHED": s.topic_enriched,
            "RASAD_TOPIC_ALERT_HITS": s.topic_alert_hits,
            "RASAD_TOPIC_REPROCESS": s.topic_reprocess,
            "RASAD_STREAM_APP_ID": s.stream_app_id,
            "RASAD_INDEX_PREFIX": s.index_prefix,
            "RASAD_DATA_DIR": str(data_dir),
            # A fresh port each call: the web app and every worker of a pipeline need their own.
            "RASAD_WORKER_WEB_PORT": str(free_port()),
            **self.defaults,
            **self.extra_env,
            **extra,
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

    def start(
        self, argv: Iterable[str], data_dir: Path, log: Path, **extra: str
    ) -> subprocess.Popen[bytes]:
        """``rasad <argv>`` in a subprocess with this env; output appended to ``log``. The first
        process started gets ``web_port`` (see :attr:`metrics_url`), later ones a fresh port."""
        data_dir.mkdir(parents=True, exist_ok=True)
        port = free_port() if self._started else self.web_port
        extra = {"RASAD_WORKER_WEB_PORT": str(port), **extra}
        self._started += 1
        with log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "rasad.cli", *argv],
                cwd=REPO,
                env=self.env(data_dir, **extra),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def delete_topics(self) -> None:
        """Delete everything this pipeline made: its topics, indices and index templates."""
        admin = KafkaAdminClient(client_id="rasad-tests", **client_config(self.settings))
        try:
            mine = [t for t in admin.list_topics() if self.tag in t]
            if mine:
                admin.delete_topics(mine)
        finally:
            admin.close()
        url = engine_at(self.settings)
        httpx.delete(f"{url}/{self.index_prefix}-*", timeout=60)
        for version in range(1, TEMPLATE_VERSION + 1):
            httpx.delete(f"{url}/_index_template/{self.index_prefix}-articles-v{version}")


class BenchPipeline(PipelineEnv):
    """The same isolation for the benchmarks under bench/: names start with "bench"."""

    kind: ClassVar[str] = "bench"


def stop(processes: Iterable[subprocess.Popen[bytes]], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM every process still running, wait for all; SIGKILL what outlives ``timeout_s``."""
    running = list(processes)
    for process in running:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in running:
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
