"""Shared helpers of the producer tests: a real local HTTP server, settings, Kafka reading."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
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
