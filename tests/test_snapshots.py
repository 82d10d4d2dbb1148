"""`rasad snapshot create|list|restore`: a snapshot of one engine's articles, alerts and alert
hits, restored into another, empty engine, holds the same documents.

The source is the fault tests' private engine (its path.repo holds the repository); the target
is a second private OpenSearch started here with the same repository path, as a replacement
cluster reading the backups of a lost one would be.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from indexers.alerts.model import AlertSpec
from indexers.alerts.store import create_alert, ensure_alert_indices
from indexers.index.sink import IndexSink
from indexers.index.templates import ensure_index_setup
from rasad.core.deadletter import DeadLetter
from rasad.core.engine.client import Engine
from rasad.core.engine.snapshots import repository_path
from rasad.core.settings import Settings
from rasad.stack import control as stack
from tests.fault_fixtures import REPO, fault_stack
from tests.index_fixtures import corpus_articles
from tests.pipeline_env import free_ports

pytestmark = pytest.mark.slow
__all__ = ["fault_stack"]  # fixture used by name

ARTICLES = 300
ALERTS = ["ترامب", "إيران", "روسيا", "الأمم المتحدة", "النفط"]
HITS = 40
SAMPLE = 25


async def _refuse(letter: DeadLetter) -> None:
    raise AssertionError(f"article {letter.key!r} was rejected: {letter.error}")


async def fill(settings: Settings) -> None:
    """Real corpus articles through the index sink, alerts through the store, alert hits."""
    async with await Engine.connect(settings) as engine:
        await ensure_index_setup(engine, settings)
        await ensure_alert_indices(engine, settings)
        sink = IndexSink(engine, settings, _refuse)
        articles = list(corpus_articles(ARTICLES))
        for article in articles:
            await sink.add(article)
        await sink.flush()
        alerts = [await create_alert(engine, settings, AlertSpec(name=q, query=q)) for q in ALERTS]
        now = datetime.now(UTC).isoformat()
        for n, article in enumerate(articles[:HITS]):
            alert = alerts[n % len(alerts)]
            key = f"{alert.id}:article:{article.id}"
            hit = {"key": key, "alert_id": alert.id, "article_id": article.id, "status": "sent"}
            await engine.request(
                "PUT",
                f"/{settings.alert_hits_index}/_doc/{key}",
                body={**hit, "title": article.title, "matched_at": now},
            )


def documents(settings: Settings, index: str) -> dict[str, Any]:
    url = settings.engine_url
    httpx.post(f"{url}/{index}/_refresh", timeout=60).raise_for_status()
    found = httpx.post(
        f"{url}/{index}/_search",
        json={"size": 10_000, "query": {"match_all": {}}},
        timeout=60,
    )
    found.raise_for_status()
    return {h["_id"]: h["_source"] for h in found.json()["hits"]["hits"]}


def rasad(settings: Settings, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {
        "RASAD_ENGINE_URL": settings.engine_url,
        "RASAD_INDEX_PREFIX": settings.index_prefix,
        "RASAD_DATA_DIR": str(settings.data_dir),
        "RASAD_ENGINE_SNAPSHOT_PATH": repository_path(settings),
    }
    return subprocess.run(
        [sys.executable, "-m", "rasad.cli", *argv],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.fixture
def empty_engine(fault_stack: Settings, tmp_path: Path) -> Iterator[Settings]:
    """A second, empty OpenSearch that can read the fault stack's snapshot repository."""
    http, transport = free_ports(2)
    settings = fault_stack.model_copy(
        update={
            "data_dir": tmp_path / "target",
            "stack_engine_port": http,
            "stack_engine_transport_port": transport,
            "engine_url": f"http://127.0.0.1:{http}",
            "engine_snapshot_path": Path(repository_path(fault_stack)),
        }
    )
    stack.start_service(settings, stack.OPENSEARCH, progress=lambda _m: None)
    try:
        yield settings
    finally:
        stack.stop_service(settings, stack.OPENSEARCH, progress=lambda _m: None)
        shutil.rmtree(settings.data_dir, ignore_errors=True)


def test_a_snapshot_restored_into_an_empty_engine_has_every_document(
    fault_stack: Settings, empty_engine: Settings
) -> None:
    prefix = f"snap-{datetime.now(UTC):%H%M%S%f}"
    source = fault_stack.model_copy(update={"index_prefix": prefix})
    target = empty_engine.model_copy(update={"index_prefix": prefix})
    asyncio.run(fill(source))
    indices = [source.articles_read_alias, source.alerts_index, source.alert_hits_index]
    before = {index: documents(source, index) for index in indices}
    assert [len(before[i]) for i in indices] == [ARTICLES, len(ALERTS), HITS]

    made = rasad(source, "snapshot", "create", f"{prefix}-nightly")
    assert made.returncode == 0, made.stderr
    listed = rasad(source, "snapshot", "list")
    assert f"{prefix}-nightly  SUCCESS" in listed.stdout, listed.stdout + listed.stderr
    restored = rasad(target, "snapshot", "restore", f"{prefix}-nightly")
    assert restored.returncode == 0, restored.stderr

    after = {index: documents(target, index) for index in indices}
    for index in indices:  # the read alias came back with its indices
        assert after[index].keys() == before[index].keys(), index
        sample = random.Random(7).sample(sorted(before[index]), min(SAMPLE, len(before[index])))
        assert [after[index][i] for i in sample] == [before[index][i] for i in sample], index
    again = rasad(target, "snapshot", "restore", f"{prefix}-nightly")
    assert again.returncode == 2 and "exist already" in again.stderr, again.stderr
