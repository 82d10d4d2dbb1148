"""Shared helpers of the producer tests: a real local HTTP server, settings, Kafka reading."""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiohttp import web
from kafka import KafkaConsumer, TopicPartition

from producers.registry import FeedSpec
from rasad.core.article import Article
from rasad.core.kafka import client_config
from rasad.core.settings import Settings
from tests.conftest import SHARED_DATA

NABD = SHARED_DATA / "feeds" / "nabdsharqi"
PROSPECT = SHARED_DATA / "feeds" / "prospect"
CORPUS = SHARED_DATA / "corpus" / "ant-multisource.jsonl.gz"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def rss_snapshots() -> list[Path]:
    """The 51 RSS versions of the nabdsharqi feed, oldest first."""
    return sorted((NABD / "history").glob("*_feed.xml"))


def producer_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a test: own state dir, no politeness delays, short timeouts."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "producer_host_gap_s": 0.0,
        "producer_connect_timeout_s": 2.0,
        "producer_read_timeout_s": 1.0,
        "producer_total_timeout_s": 3.0,
        "producer_send_timeout_s": 10.0,
        "producer_spool_retry_s": 0.1,
        "producer_dead_after": 2,
        **overrides,
    }
    return Settings(**values)


def local_feed(url: str, feed_id: str = "nabdsharqi") -> FeedSpec:
    return FeedSpec(
        id=feed_id,
        name="نبض شرقي",
        url=url,
        country="SY",
        kind="private",
        interval=60,
        enabled=True,
    )


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class FeedServer:
    """aiohttp on 127.0.0.1 with routes set per test; records every request it got."""

    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[web.Request] = field(default_factory=list)
    runner: web.AppRunner | None = None
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request)
        handler = self.routes.get(request.path)
        if handler is None:
            return web.Response(status=404, text="no such feed")
        return await handler(request)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._dispatch)
        self.runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def static(body: bytes, content_type: str = "application/rss+xml", **headers: str) -> Handler:
    async def handler(_request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, headers={"Content-Type": content_type, **headers})

    return handler


def read_topic(settings: Settings, topic: str) -> list[tuple[str, Article]]:
    """Every message of a one-partition topic, in order, as (key, Article)."""
    consumer = KafkaConsumer(**client_config(settings))
    partition = TopicPartition(topic, 0)
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    end = consumer.end_offsets([partition])[partition]
    out: list[tuple[str, Article]] = []
    while consumer.position(partition) < end:
        for records in consumer.poll(timeout_ms=2_000).values():
            out += [(r.key.decode(), Article.from_json(r.value)) for r in records]
    consumer.close()
    return out


def registry_file(tmp_path: Path, *sources: tuple[str, str]) -> Path:
    """An outlet registry with one outlet per (id, feed url); an empty url means no feed."""
    path = tmp_path / "feeds.yaml"
    lines = ["outlets:"]
    for outlet_id, url in sources:
        lines += [
            f"  - id: {outlet_id}",
            "    name: {ar: نبض, en: Nabd}",
            f"    homepage: http://127.0.0.1/{outlet_id}",
            "    country: SY",
            "    kind: private",
            "    languages: [ar]",
            "    verified: unverified",
            "    interval: 60",
        ]
        if url:
            lines.append(f"    feeds: [{{url: '{url}', verified: unverified}}]")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """The files of ``folder`` over HTTP on 127.0.0.1 (a thread), for a producer in another
    process; yields the base URL."""
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietFiles, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


REPO = Path(__file__).resolve().parents[1]


def run_cli(tmp_path: Path, topic: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`rasad ARGS` in its own process, with its own data dir and ``topic`` as the raw topic;
    no politeness gap between requests to one host, and a 3 s fetch deadline (tests serve
    feeds locally)."""
    env = {
        **os.environ,
        "RASAD_DATA_DIR": str(tmp_path),
        "RASAD_TOPIC_RAW": topic,
        "RASAD_PRODUCER_METRICS_PORT": "0",
        "RASAD_PRODUCER_HOST_GAP_S": "0",
        "RASAD_PRODUCER_TOTAL_TIMEOUT_S": "3",
        "COLUMNS": "400",
    }
    return subprocess.run(
        [sys.executable, "-m", "rasad.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
