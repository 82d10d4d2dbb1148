"""`rasad produce --replay` serves the producers' Prometheus page, like the polling producer."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from rasad.core.settings import Settings
from tests.producers_fixtures import CORPUS

REPO = Path(__file__).resolve().parents[1]
ARTICLES = 40
# 4 articles/s: the replay runs ~10 s, far longer than the page takes to answer.
RATE = 4
# A CLI start with Kafka and prometheus imports takes ~2 s; a loaded 2-core box many times that.
STARTUP_TIMEOUT_S = 180.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def samples(url: str) -> dict[str, float]:
    """``name{outcome}`` -> value of the producer families on a metrics page."""
    page = httpx.get(url, timeout=5)
    page.raise_for_status()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(page.text):
        for sample in family.samples:
            if sample.name.startswith("rasad_producer_") and sample.name.endswith("_total"):
                outcome = sample.labels.get("outcome")
                out[f"{sample.name}{{{outcome}}}" if outcome else sample.name] = sample.value
    return out


def start_replay(
    tmp_path: Path, topic: str, articles: int, rate: int, metrics_port: int
) -> subprocess.Popen[bytes]:
    """`rasad produce --replay` of the corpus's first ``articles`` lines into ``topic``."""
    corpus = tmp_path / "head.jsonl.gz"
    with gzip.open(CORPUS, "rb") as src, gzip.open(corpus, "wb") as dst:
        dst.writelines(islice(src, articles))
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rasad.cli",
            "produce",
            "--replay",
            str(corpus),
            "--rate",
            str(rate),
        ],
        cwd=REPO,
        env={
            **os.environ,
            "RASAD_DATA_DIR": str(tmp_path),
            "RASAD_TOPIC_RAW": topic,
            "RASAD_PRODUCER_METRICS_PORT": str(metrics_port),
            "COLUMNS": "200",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_a_replay_serves_what_it_read_and_published_on_the_metrics_port(
    live_stack: Settings, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    port = free_port()
    replay = start_replay(tmp_path, new_topic("replay-metrics"), ARTICLES, RATE, port)
    url = f"http://127.0.0.1:{port}/metrics"
    seen: dict[str, float] = {}
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline and replay.poll() is None:
            try:
                seen = samples(url)
            except httpx.HTTPError:
                seen = {}
            read = seen.get("rasad_producer_replay_read_total", 0)
            # A batch is counted as read before it is published: wait for a page taken
            # between batches, where every article read so far has been published.
            if read >= RATE and seen.get("rasad_producer_articles_total{published}") == read:
                break
            time.sleep(0.2)
    finally:
        replay.terminate()
        _, stderr = replay.communicate(timeout=STARTUP_TIMEOUT_S)
    read = seen.get("rasad_producer_replay_read_total", 0)
    assert read >= RATE, f"no replay counts served at {url}: {stderr.decode()[-2000:]}"
    # Every article read so far was new (fresh state dir) and published in its batch.
    assert seen.get("rasad_producer_articles_total{published}") == read
    assert seen.get("rasad_producer_articles_total{duplicate}") == 0


def test_a_taken_metrics_port_does_not_stop_the_replay(
    live_stack: Settings, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        replay = start_replay(tmp_path, new_topic("replay-metrics"), 3, 0, taken.getsockname()[1])
        stdout, stderr = replay.communicate(timeout=STARTUP_TIMEOUT_S)
    assert replay.returncode == 0, stderr.decode()
    assert "3 new" in stdout.decode()
    assert "producer metrics not served" in (stdout + stderr).decode()
