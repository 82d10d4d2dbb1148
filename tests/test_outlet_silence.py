"""An outlet falls silent when none of its sources brings news for several of its usual gaps
(issue 19); one quiet source of an outlet that still publishes through another is not silence.
Shown in `rasad feeds status`, in the web app's feed health, and in the /metrics of the web
server and of the producer. Real registry outlets: alkhaleej has two feeds, qna one."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from prometheus_client import REGISTRY

from producers.registry import load_registry
from producers.runner import open_poller
from producers.silence import silent_outlets
from producers.state import FeedHealth, StateStore
from rasad.core.settings import Settings
from rasad.web.app import create_app
from rasad.web.feeds import feed_health
from tests.producers_fixtures import producer_settings

REPO = Path(__file__).resolve().parents[1]
SOURCES = {spec.id: spec for spec in load_registry()}
# News every hour, then nothing: silent after 4 hours (RASAD_PRODUCER_SILENT_FACTOR's default).
QUIET, FRESH = timedelta(days=2), timedelta(minutes=10)
FACTOR = 4.0


def health(source_id: str, quiet_for: timedelta, state: str = "ok") -> FeedHealth:
    return FeedHealth(
        id=source_id,
        url=SOURCES[source_id].url,
        state=state,
        interval_s=600,
        gap_s=3600,
        last_new=datetime.now(UTC) - quiet_for,
    )


def silent(*states: FeedHealth) -> set[str]:
    polled = {h.id: h for h in states}
    return silent_outlets(SOURCES.values(), polled, datetime.now(UTC), FACTOR)


def test_an_outlet_still_publishing_through_another_source_is_not_silent() -> None:
    assert silent(health("alkhaleej", QUIET), health("alkhaleej-feed2", FRESH)) == set()


def test_an_outlet_is_silent_when_all_its_sources_are() -> None:
    assert silent(health("alkhaleej", QUIET), health("alkhaleej-feed2", QUIET)) == {"alkhaleej"}
    assert silent(health("qna", QUIET), health("alkhaleej", FRESH)) == {"qna"}


def test_a_dead_source_does_not_count_and_a_never_polled_one_keeps_the_outlet_unsilent() -> None:
    dead = health("alkhaleej-feed2", FRESH, state="dead")
    assert silent(health("alkhaleej", QUIET), dead) == {"alkhaleej"}
    assert silent(health("alkhaleej", QUIET)) == set()


def saved(tmp_path: Path, **overrides: object) -> Settings:
    """A data dir whose producer state has qna silent and alkhaleej quiet on one feed only."""
    settings = producer_settings(tmp_path, **overrides)
    store = StateStore(settings.data_dir / settings.producer_state_path)
    for h in (health("qna", QUIET), health("alkhaleej", QUIET), health("alkhaleej-feed2", FRESH)):
        store.save_feed(h)
    store.close()
    return settings


async def test_feeds_status_shows_the_silent_outlet(tmp_path: Path) -> None:
    saved(tmp_path)
    env = {**os.environ, "RASAD_DATA_DIR": str(tmp_path), "COLUMNS": "240"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rasad.cli", "feeds", "status",
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output = (await proc.communicate())[0].decode()

    rows = {line.split("│")[2].strip(): line for line in output.splitlines() if "│" in line}
    assert proc.returncode == 0, output
    assert "silent" in rows["qna"]
    assert "silent" not in rows["alkhaleej"] and "silent" not in rows["alkhaleej-feed2"]


async def test_the_web_apps_feed_health_and_metrics_show_the_silent_outlet(
    tmp_path: Path,
) -> None:
    settings = saved(tmp_path)
    rows = {row["source_id"]: row["state"] for row in feed_health(settings)}
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        metrics = (await http.get("/metrics")).text

    assert rows["qna"] == "silent"
    assert rows["alkhaleej"] == rows["alkhaleej-feed2"] == "ok"
    assert 'rasad_web_outlet_silent{outlet="qna"} 1.0' in metrics
    assert 'rasad_web_outlet_silent{outlet="alkhaleej"} 0.0' in metrics


async def test_the_producers_metrics_show_the_silent_outlet(
    live_stack: Settings, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    settings = saved(tmp_path, topic_raw=new_topic("silence"))
    async with open_poller(settings, list(SOURCES.values())):
        value = REGISTRY.get_sample_value
        assert value("rasad_producer_outlet_silent", {"outlet": "qna"}) == 1
        assert value("rasad_producer_outlet_silent", {"outlet": "alkhaleej"}) == 0
