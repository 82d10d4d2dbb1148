"""`rasad feeds discover`: an outlet's feeds from its homepage's alternate links and common
paths, its news sitemaps from robots.txt and sitemap indexes, on the realistic site of
tests/site_fixtures.py; --write adds them to the registry and keeps its comments."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from producers.check import Thresholds
from producers.discover import discover
from producers.fetch import Fetcher, FetchLimits
from producers.registry import load_outlets
from tests.producers_fixtures import FeedServer, producer_settings
from tests.site_fixtures import NewsSite, serve_site

REPO = Path(__file__).resolve().parents[1]
LIMITS = Thresholds(stale_after=timedelta(days=7), slow_after_s=5.0)
REGISTRY = """\
# The registry's own comments survive --write.
outlets:
  # --- Syria ---
  - id: nabd
    name: {{ar: نبض شرقي, en: Nabd Sharqi}}
    homepage: {home}
    country: SY
    kind: private
    languages: [ar]
    verified: unverified  # checked by hand once online
"""


@pytest.fixture
async def site() -> AsyncIterator[NewsSite]:
    server = FeedServer()
    await server.start()
    yield await serve_site(server)
    await server.stop()


async def test_discovery_finds_linked_feeds_and_the_news_sitemaps_of_the_index(
    site: NewsSite, tmp_path: Path
) -> None:
    settings = producer_settings(tmp_path)
    async with Fetcher(FetchLimits.from_settings(settings)) as fetcher:
        found = await discover(fetcher, site.url("/"), datetime.now(UTC), LIMITS, set())
    assert [(p.type, p.url, p.found_by, p.verdict) for p in found] == [
        ("feed", site.url("/feed.xml"), "alternate link", "ok"),
        ("feed", site.url("/atom.xml"), "alternate link", "stale"),
        ("sitemap", site.url("/news-sitemap.xml"), "sitemap index", "ok"),
        ("sitemap", site.url("/news-sitemap-1256.xml"), "sitemap index", "ok"),
    ]
    assert site.fetched("/robots.txt") == 1 and site.fetched("/sitemap_index.xml") == 1


async def rasad(tmp_path: Path, *args: str) -> tuple[int, str]:
    env = {**os.environ, "RASAD_DATA_DIR": str(tmp_path), "RASAD_PRODUCER_HOST_GAP_S": "0"}
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "rasad.cli", *args),
        cwd=REPO,
        env={**env, "COLUMNS": "240"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    stdout, _ = await proc.communicate()
    return proc.returncode or 0, stdout.decode()


async def test_write_adds_what_was_found_and_keeps_the_comments(
    site: NewsSite, tmp_path: Path
) -> None:
    registry = tmp_path / "feeds.yaml"
    registry.write_text(REGISTRY.format(home=site.url("/")), encoding="utf-8")
    code, output = await rasad(
        tmp_path, "feeds", "discover", "nabd", "--json", "--write", "--registry", str(registry)
    )
    assert code == 0, output
    proposals = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert {p["url"] for p in proposals} >= {site.url("/feed.xml"), site.url("/news-sitemap.xml")}
    text = registry.read_text(encoding="utf-8")
    assert "# The registry's own comments survive --write." in text
    assert "# checked by hand once online" in text
    [nabd] = load_outlets(registry)
    assert [f.url for f in nabd.feeds] == [site.url("/feed.xml"), site.url("/atom.xml")]
    assert len(nabd.sitemaps) == 2 and nabd.sitemaps[1].url.endswith("-1256.xml")
    assert nabd.feeds[0].verified.startswith("rasad feeds discover")
    code, output = await rasad(
        tmp_path, "feeds", "discover", site.url("/"), "--write", "--registry", str(registry)
    )
    assert code == 0 and "0 source(s) added" in output  # a URL is matched to its outlet by host
