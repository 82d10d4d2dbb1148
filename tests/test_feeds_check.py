"""`rasad feeds check`: one request per source, one verdict each, against a realistic Arabic news
site on 127.0.0.1 (tests/site_fixtures.py): ok, stale, empty, not-a-feed, blocked, moved, gone,
slow, and a clear verdict for hostile sitemaps."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from producers.check import CheckResult, Thresholds, check_all
from producers.fetch import Fetcher, FetchLimits
from producers.registry import FeedSpec
from producers.runner import open_poller
from producers.state import FeedHealth
from rasad.core.settings import Settings
from rasad.web.feeds import feed_health as web_feed_health
from tests.producers_fixtures import FeedServer, closed_port, producer_settings, registry_file
from tests.site_fixtures import CAP, NewsSite, serve_site

REPO = Path(__file__).resolve().parents[1]
LIMITS = Thresholds(stale_after=timedelta(days=7), slow_after_s=1.0)


@pytest.fixture
async def site() -> AsyncIterator[NewsSite]:
    server = FeedServer()
    await server.start()
    yield await serve_site(server)
    await server.stop()


def spec(url: str, source_id: str = "nabd", kind: str = "feed") -> FeedSpec:
    return FeedSpec(
        id=source_id,
        name="نبض شرقي",
        url=url,
        country="SY",
        kind="private",
        interval=60,
        enabled=True,
        type=kind,
    )


async def check(
    site: NewsSite, tmp_path: Path, *paths: str, kind: str = "feed"
) -> list[CheckResult]:
    settings = producer_settings(tmp_path, producer_max_response_bytes=CAP, producer_host_gap_s=0.0)
    specs = [spec(site.url(p), f"s{n}", kind) for n, p in enumerate(paths)]
    async with Fetcher(FetchLimits.from_settings(settings)) as fetcher:
        return await check_all(fetcher, specs, datetime.now(UTC), LIMITS)


async def test_a_live_arabic_feed_is_ok_with_its_count_age_and_arabic_share(
    site: NewsSite, tmp_path: Path
) -> None:
    [result] = await check(site, tmp_path, "/feed.xml")
    assert result.verdict == "ok" and result.items == 10
    assert result.arabic_share == 0.9  # one title is mostly Latin: "كولبنكيان Mr Five Percent"
    assert result.newest_age_s is not None and result.newest_age_s < 60
    assert site.fetched("/feed.xml") == 1  # one request per source


async def test_every_way_a_feed_goes_wrong_has_its_verdict(site: NewsSite, tmp_path: Path) -> None:
    paths = {
        "/stale.xml": "stale",  # recorded in 2015
        "/empty.xml": "empty",
        "/": "not-a-feed",  # the homepage
        "/challenge.xml": "blocked",  # 403 + cf-mitigated: challenge
        "/challenge-200.xml": "blocked",  # a 200 whose body is the challenge
        "/old-feed": "moved",  # 301 -> 302 -> the feed
        "/retired.xml": "gone",  # 410
        "/nowhere.xml": "gone",  # 404
        "/slow.xml": "slow",
    }
    results = await check(site, tmp_path, *paths)
    assert [r.verdict for r in results] == list(paths.values())
    moved = results[list(paths).index("/old-feed")]
    assert moved.new_url == site.url("/feed.xml") and moved.items == 10


async def test_sitemaps_are_checked_like_feeds_and_hostile_ones_get_a_clear_verdict(
    site: NewsSite, tmp_path: Path
) -> None:
    index, arabic, huge, bomb, entities = await check(
        site,
        tmp_path,
        "/sitemap_index.xml",
        "/news-sitemap-1256.xml",
        "/huge-sitemap.xml",
        "/bomb-sitemap.xml.gz",
        "/entities-sitemap.xml",
        kind="sitemap",
    )
    assert (index.verdict, index.detail) == ("ok", "sitemap index of 2")
    assert (arabic.verdict, arabic.items, arabic.arabic_share) == ("ok", 3, 1.0)
    assert huge.verdict == "error" and "too_large" in huge.detail
    assert bomb.verdict == "not-a-feed" and "gzip bomb" in bomb.detail
    assert entities.verdict == "not-a-feed" and "DTD" in entities.detail


async def rasad(tmp_path: Path, *args: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "RASAD_DATA_DIR": str(tmp_path),
        "RASAD_PRODUCER_HOST_GAP_S": "0",
        "COLUMNS": "240",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rasad.cli",
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    stdout, _ = await proc.communicate()
    return proc.returncode or 0, stdout.decode()


async def test_the_cli_checks_outlets_and_fails_when_an_enabled_source_is_gone(
    site: NewsSite, tmp_path: Path
) -> None:
    registry = registry_file(
        tmp_path,
        ("nabd", site.url("/feed.xml")),
        ("retired", site.url("/retired.xml")),
        ("homepage-only", ""),
    )
    code, output = await rasad(
        tmp_path, "feeds", "check", "--all", "--json", "--registry", str(registry)
    )
    verdicts = {r["source_id"]: r["verdict"] for r in map(json.loads, output.splitlines())}
    assert verdicts == {"nabd": "ok", "retired": "gone", "homepage-only": "no-source"}
    assert code == 1
    code, output = await rasad(tmp_path, "feeds", "check", "nabd", "--registry", str(registry))
    assert code == 0 and "ok" in output
    code, output = await rasad(tmp_path, "feeds", "check", f"http://127.0.0.1:{closed_port()}/x")
    assert code == 0 and "error" in output  # refused: not gone, maybe back tomorrow
    code, output = await rasad(tmp_path, "feeds", "status", "--registry", str(registry))
    assert code == 0 and "homepage-only" in output and "no source" in output


async def test_the_poller_records_the_same_verdicts_as_the_check(
    live_stack: Settings, new_topic: Callable[..., str], site: NewsSite, tmp_path: Path
) -> None:
    settings = producer_settings(tmp_path, topic_raw=new_topic("producers"))
    paths = {"/feed.xml": "ok", "/challenge-200.xml": "blocked", "/old-feed": "moved"}
    paths |= {"/retired.xml": "gone", "/stale.xml": "stale", "/": "not-a-feed"}
    sources = [spec(site.url(p), f"s{n}") for n, p in enumerate(paths)]
    async with open_poller(settings, sources) as poller:
        await poller.run_once()
    verdicts = [poller.health[s.id].verdict for s in sources]
    assert verdicts == list(paths.values())
    assert poller.health["s0"].state == "ok" and poller.health["s1"].state == "failing"


def test_a_source_is_silent_after_several_of_its_usual_gaps_without_news() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    health = FeedHealth(id="nabd", url="http://x", interval_s=600, state="ok")
    for hour in range(4):  # news every hour
        health.saw_new(start + timedelta(hours=hour), weight=0.3)
    assert health.gap_s == 3600
    last = start + timedelta(hours=3)
    assert not health.is_silent(last + timedelta(hours=3), factor=4)
    assert health.is_silent(last + timedelta(hours=5), factor=4)
    health.state = "disabled"
    assert not health.is_silent(last + timedelta(hours=5), factor=4)


def test_the_web_apps_feed_health_lists_outlets_without_a_source(tmp_path: Path) -> None:
    rows = {row["source_id"]: row for row in web_feed_health(producer_settings(tmp_path))}
    assert rows["spa"]["state"] == "no-source" and "sitemap" in rows["spa"]["detail"]
    assert rows["alkhaleej-feed2"]["outlet"] == "alkhaleej"
    assert rows["aljazeera"]["state"] == "unknown"  # never polled here
