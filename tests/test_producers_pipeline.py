"""Feeds -> real Kafka: each poll publishes exactly what is new or changed, and nothing is lost.

A real HTTP server on 127.0.0.1 serves the nabdsharqi feed's 51 recorded RSS versions in order;
the real broker at 127.0.0.1:9092 receives; every test reads back its own fresh topic.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from producers.parse import parse_feed
from producers.publish import Publisher
from producers.runner import open_poller, spool_path, state_path
from producers.spool import Spool
from producers.state import StateStore
from rasad.core.settings import Settings
from tests.producers_fixtures import (
    NABD,
    FeedServer,
    closed_port,
    local_feed,
    producer_settings,
    read_topic,
    rss_snapshots,
)

SNAPSHOTS = rss_snapshots()


class Versions:
    """Serves one snapshot at a time, with an ETag, answering 304 when it did not change."""

    def __init__(self) -> None:
        self.body = b""

    def set(self, path: Path) -> None:
        self.body = path.read_bytes()

    async def handler(self, request: web.Request) -> web.StreamResponse:
        etag = '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=self.body, headers={"ETag": etag, "Content-Type": "application/rss+xml"}
        )


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    srv = FeedServer()
    await srv.start()
    yield srv
    await srv.stop()


def expected_changes(path: Path, feed_url: str, seen: dict[str, set[str]]) -> set[str]:
    """Ids in this snapshot that are new or whose content changed since the last publish.

    (Early snapshots have relative links: ids depend on the feed URL they are resolved against.)
    """
    parsed = parse_feed(
        path.read_bytes(),
        None,
        source=local_feed(feed_url).source,
        feed_url=feed_url,
        fetched_at=datetime.now(UTC),
    )
    changed = {a.id for a in parsed.articles if a.content_hash not in seen.get(a.id, set())}
    for a in parsed.articles:
        seen.setdefault(a.id, set()).add(a.content_hash)
    return changed


async def test_each_poll_publishes_exactly_the_new_or_changed_items(
    live_stack: Settings, new_topic: Callable[..., str], server: FeedServer, tmp_path: Path
) -> None:
    topic = new_topic("producers")
    settings = producer_settings(tmp_path, topic_raw=topic)
    versions = Versions()
    server.routes["/feed.xml"] = versions.handler
    feed = local_feed(server.url("/feed.xml"))
    seen: dict[str, set[str]] = {}
    published = 0
    async with open_poller(settings, [feed]) as poller:
        for snapshot in SNAPSHOTS:
            versions.set(snapshot)
            want = expected_changes(snapshot, feed.url, seen)
            outcome = await poller.poll(feed)
            again = await poller.poll(feed)  # unchanged: a 304 that publishes nothing
            messages = read_topic(settings, topic)[published:]
            published += len(messages)
            assert {key for key, _ in messages} == want, (snapshot.name, outcome)
            assert outcome.new + outcome.updated == len(want)
            assert again.not_modified and again.new + again.updated == 0
    everything = read_topic(settings, topic)
    versions_of: dict[str, int] = {}
    for key, article in everything:
        assert article.id == key and article.source.id == "nabdsharqi"
        assert article.version == versions_of.get(key, 0) + 1  # 1, 2, 3 ... per id
        versions_of[key] = article.version
    assert len(versions_of) >= 50  # the feed's history has many distinct stories
    assert any(v > 1 for v in versions_of.values())  # and some were edited after publishing


async def test_304_costs_no_parsing(
    live_stack: Settings,
    new_topic: Callable[..., str],
    server: FeedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = producer_settings(tmp_path, topic_raw=new_topic("producers"))
    versions = Versions()
    versions.set(SNAPSHOTS[0])
    server.routes["/feed.xml"] = versions.handler
    feed = local_feed(server.url("/feed.xml"))
    async with open_poller(settings, [feed]) as poller:
        await poller.poll(feed)
        monkeypatch.setattr("producers.poller.parse_feed", None)  # would crash if called
        outcome = await poller.poll(feed)
    assert outcome.not_modified and outcome.error is None
    assert poller.health[feed.id].state == "not_modified"


async def test_a_restart_republishes_nothing(
    live_stack: Settings, new_topic: Callable[..., str], server: FeedServer, tmp_path: Path
) -> None:
    topic = new_topic("producers")
    settings = producer_settings(tmp_path, topic_raw=topic)
    versions = Versions()
    versions.set(SNAPSHOTS[-1])
    server.routes["/feed.xml"] = versions.handler
    feed = local_feed(server.url("/feed.xml"))
    async with open_poller(settings, [feed]) as poller:
        first = await poller.run_once()
    # A new process: no ETag would help if the server ignored validators, so serve without one.
    server.routes["/feed.xml"] = lambda _r: _plain(versions.body)
    async with open_poller(settings, [feed]) as poller:
        second = await poller.run_once()
    assert first[0].new == 10
    assert (second[0].new, second[0].updated, second[0].duplicate) == (0, 0, 10)
    assert len(read_topic(settings, topic)) == 10


async def _plain(body: bytes) -> web.StreamResponse:
    return web.Response(body=body, headers={"Content-Type": "application/rss+xml"})


async def test_a_broker_down_at_start_loses_nothing_when_it_comes_back(
    live_stack: Settings, new_topic: Callable[..., str], server: FeedServer, tmp_path: Path
) -> None:
    topic = new_topic("producers")
    down = producer_settings(
        tmp_path, topic_raw=topic, kafka_bootstrap_servers=f"127.0.0.1:{closed_port()}"
    )
    up = producer_settings(tmp_path, topic_raw=topic)
    versions = Versions()
    server.routes["/feed.xml"] = versions.handler
    feed = local_feed(server.url("/feed.xml"))
    async with open_poller(down, [feed]) as poller:
        for snapshot in SNAPSHOTS[:3]:
            versions.set(snapshot)
            outcome = await poller.poll(feed)
            assert outcome.state == "ok" and outcome.spooled == outcome.new + outcome.updated
    spool = Spool(spool_path(down))
    spooled = spool.size()
    spool.close()
    assert spooled > 10
    assert StateStore(state_path(down)).published_count() == 0  # nothing marked before an ack

    versions.set(SNAPSHOTS[3])
    async with open_poller(up, [feed]) as poller:
        outcome = await poller.poll(feed)  # the spool is flushed first, then the new poll
    messages = read_topic(up, topic)
    assert len(messages) == spooled + outcome.new + outcome.updated
    assert len({(k, a.version) for k, a in messages}) == len(messages)  # no duplicates
    spool = Spool(spool_path(up))
    assert spool.size() == 0
    spool.close()


async def test_broken_feeds_get_states_and_never_stop_the_others(
    live_stack: Settings, new_topic: Callable[..., str], server: FeedServer, tmp_path: Path
) -> None:
    settings = producer_settings(tmp_path, topic_raw=new_topic("producers"))
    versions = Versions()
    versions.set(SNAPSHOTS[0])
    server.routes["/feed.xml"] = versions.handler
    server.routes["/page.html"] = lambda _r: _plain(
        b"<html><body><h1>\xd8\xae\xd8\xa8\xd8\xb1</h1></body></html>"
    )
    feeds = [
        local_feed(server.url("/feed.xml"), "good"),
        local_feed(server.url("/page.html"), "html-page"),
        local_feed(server.url("/gone.xml"), "gone"),  # 404
        local_feed(f"http://127.0.0.1:{closed_port()}/rss", "refused"),
    ]
    async with open_poller(settings, feeds) as poller:
        first = {o.feed_id: o for o in await poller.run_once()}
        second = {o.feed_id: o for o in await poller.run_once()}
    assert first["good"].state == "ok" and first["good"].new == 10
    assert first["html-page"].state == "failing" and "not_a_feed" in (
        first["html-page"].error or ""
    )
    assert first["gone"].state == "failing" and second["gone"].state == "dead"  # dead_after=2
    assert second["refused"].state == "failing"
    health = poller.health["refused"]
    assert health.consecutive_failures == 2 and health.last_error_kind == "connect"
    assert poller.next_delay("refused") > poller.next_delay("good") * 2 * 0.8  # backed off


async def test_one_story_in_an_outlets_rss_and_atom_feeds_does_not_ping_pong(
    live_stack: Settings, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    settings = producer_settings(tmp_path, topic_raw=new_topic("producers"))
    source, now = local_feed("http://x").source, datetime.now(UTC)
    rss, atom = (
        parse_feed(
            (NABD / name).read_bytes(), None, source=source, feed_url="http://x", fetched_at=now
        ).articles
        for name in ("feed.xml", "atom.xml")
    )
    assert {a.id for a in rss} == {a.id for a in atom}  # same stories, different bodies
    state, spool = StateStore(state_path(settings)), Spool(spool_path(settings))
    publisher = Publisher(settings, state, spool)
    reports = [publisher.submit(batch) for batch in (rss, atom, rss, atom)]
    publisher.close()
    assert [(r.new, r.updated, r.duplicate) for r in reports] == [
        (10, 0, 0),
        (0, 10, 0),
        (0, 0, 10),
        (0, 0, 10),
    ]
