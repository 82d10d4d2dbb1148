"""`rasad reprocess` through the real broker, a real `rasad worker` and the real engine.

The worker runs a taxonomy file of its own (RASAD_STREAM_TAXONOMY_PATH) and picks up an edit
without a restart; a reprocess then re-enriches the stored articles with it, and the articles
gained and lost by the edited tag show in search and in the diff. An interrupted run resumes,
versions order both ways (a reprocess never overwrites a newer live version), and live articles
published while a reprocess runs are searchable before it ends.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from rasad.core.article import Article
from rasad.core.settings import Settings
from stream.enrich.version import DATA_DIR
from tests.pipeline_env import REPO, wait_for
from tests.stream_fixtures import (
    StreamEnv,
    first_corpus_articles,
    produce,
    publish,
    running_worker,
)

ARTICLES = 60
# The edit: "health" words now count against health, and everyday reporting words for it. The
# rules add at most the tag's rule weight to the learned model's score (combined.py); health's
# weight is among the largest, so the edit moves articles both ways (35 gained, 1 lost of these 60).
TAG = "health"
HEALTH = "      الصحة|صحة|الصحية|صحية|الصحي|صحي: 2\n"
EDITED = (
    "      الصحة|صحة|الصحية|صحية|الصحي|صحي: -6\n"
    "      الذكاء الاصطناعي|تطبيق|التطبيق|الهاتف|الفنان|فنان|قال|وقال|أضاف|وأضاف|اليوم|العام: 9\n"
)


@pytest.fixture(scope="module")
def taxonomy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("taxonomy") / "taxonomy.yaml"
    path.write_text((DATA_DIR / "taxonomy.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def pipeline(
    live_stack: Settings, taxonomy: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[StreamEnv, Path]]:
    extra = {"RASAD_STREAM_TAXONOMY_PATH": str(taxonomy), "RASAD_STREAM_TAXONOMY_CHECK_S": "0.5"}
    env = StreamEnv(live_stack, extra_env=extra)
    data = tmp_path_factory.mktemp("reprocess-worker")
    try:
        with running_worker(env, data):
            yield env, data
    finally:
        env.delete_topics()


def search(env: StreamEnv, query: dict[str, Any]) -> dict[str, dict[str, Any]]:
    url = f"{env.settings.engine_url}/{env.index_prefix}-articles"
    httpx.post(f"{url}/_refresh", timeout=60).raise_for_status()
    found = httpx.post(f"{url}/_search", json={"size": 1000, "query": query}, timeout=60)
    found.raise_for_status()
    return {
        h["_id"]: {**h["_source"], "_version": h.get("_version")}
        for h in found.json()["hits"]["hits"]
    }


def tagged(env: StreamEnv, tag: str) -> set[str]:
    nested = {"nested": {"path": "topics", "query": {"term": {"topics.tag": tag}}}}
    return set(search(env, nested))


def reprocess(env: StreamEnv, data: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "rasad.cli", "reprocess", "--json", *args],
        cwd=REPO, env=env.env(data), capture_output=True, timeout=600, check=False,
    )  # fmt: skip


def test_an_edited_tag_is_reprocessed_into_search_and_the_diff(
    pipeline: tuple[StreamEnv, Path], taxonomy: Path
) -> None:
    env, data = pipeline
    for name, opt_in in ((TAG, []), (f"{TAG}-reprocess-digest", ["--reprocess-digest"])):
        added = subprocess.run(
            [sys.executable, "-m", "rasad.cli", "alerts", "add", "--name", name,
             "--topic", TAG, *opt_in],
            cwd=REPO, env=env.env(data), capture_output=True, check=False,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr.decode()
    articles = first_corpus_articles(ARTICLES)
    ids = {a.id for a in articles}
    publish(env, articles)
    wait_for(f"{ARTICLES} articles indexed", lambda: ids <= set(search(env, {"match_all": {}})))
    before = tagged(env, TAG)
    stored = search(env, {"match_all": {}})
    assert len({d["enrichment"]["id"] for d in stored.values()}) == 1, "one enrichment version"

    taxonomy.write_text(taxonomy.read_text(encoding="utf-8").replace(HEALTH, EDITED), "utf-8")
    dry = reprocess(env, data, "--dry-run")
    assert dry.returncode == 0, dry.stderr.decode()
    dry_report = json.loads(dry.stdout)
    assert tagged(env, TAG) == before, "a dry run writes nothing"
    gained_lost = dry_report["tags"][TAG]
    assert gained_lost["gained"] > 0 and gained_lost["lost"] > 0, dry_report

    done = reprocess(env, data)
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)
    assert report["tags"] == dry_report["tags"], "the workers ran what the dry run ran"
    assert report["outcomes"]["changed"] >= gained_lost["gained"] + gained_lost["lost"]
    after = tagged(env, TAG)
    assert len(after - before) == gained_lost["gained"]
    assert len(before - after) == gained_lost["lost"]
    examples = [e for e in report["examples"] if e["tag"] == TAG]
    assert {e["direction"] for e in examples} == {"gained", "lost"}
    assert all(e["title"] and e["evidence"] for e in examples if e["direction"] == "gained")
    # Alerts: only the alert that opted in gets the reprocess's new hits, queued for its digest.
    hits_index = f"{env.settings.engine_url}/{env.settings.alert_hits_index}"

    def reprocess_hits() -> list[dict[str, Any]]:
        httpx.post(f"{hits_index}/_refresh", timeout=60)
        body = {"size": 1000, "query": {"term": {"reprocess": True}}}
        found = httpx.post(f"{hits_index}/_search", json=body, timeout=60).json()
        return [h["_source"] for h in found["hits"]["hits"]]

    wait_for("the reprocess's alert hits", lambda: len(reprocess_hits()) >= len(after - before))
    assert {h["alert_name"] for h in reprocess_hits()} == {f"{TAG}-reprocess-digest"}
    assert {h["article_id"] for h in reprocess_hits()} == after - before
    assert {h["status"] for h in reprocess_hits()} <= {"queued", "digested"}
    reprocessed = search(env, {"match_all": {}})
    assert {d["enrichment"]["run"] for d in reprocessed.values()} == {report["run"]}
    assert len({d["enrichment"]["id"] for d in reprocessed.values()}) == 1
    assert {d["enrichment"]["id"] for d in reprocessed.values()} != {
        d["enrichment"]["id"] for d in stored.values()
    }


def test_a_reprocess_never_overwrites_a_newer_live_version(
    pipeline: tuple[StreamEnv, Path],
) -> None:
    env, _ = pipeline
    (article,) = first_corpus_articles(1)
    publish(env, [article])
    wait_for("indexed", lambda: article.id in search(env, {"match_all": {}}))
    doc = search(env, {"ids": {"values": [article.id]}})[article.id]
    from indexers.index.documents import request_of

    old = request_of("stale-run", {k: v for k, v in doc.items() if k != "_version"})
    newer = article.model_copy(
        update={"title": article.title + " (محدث)", "version": article.version + 1}
    )
    publish(env, [newer])
    wait_for(
        "the newer version indexed",
        lambda: (
            search(env, {"ids": {"values": [article.id]}})[article.id]["version"] == newer.version
        ),
    )

    produce(env.settings, env.settings.topic_reprocess, [(article.id.encode(), old.to_json())])
    changes = f"{env.settings.engine_url}/{env.index_prefix}-reprocess-changes"

    def recorded() -> dict[str, Any] | None:
        httpx.post(f"{changes}/_refresh", timeout=60)
        got = httpx.get(f"{changes}/_doc/stale-run:{article.id}", timeout=60)
        return got.json().get("_source") if got.status_code == 200 else None

    wait_for("the stale reprocess recorded", lambda: recorded() is not None)
    assert recorded()["outcome"] == "stale"  # type: ignore[index]
    kept = search(env, {"ids": {"values": [article.id]}})[article.id]
    assert (kept["version"], kept["title"]) == (newer.version, newer.title)
    # and the newer live version of a reprocessed article wins over the reprocess
    publish(env, [newer.model_copy(update={"version": newer.version + 1, "title": "جديد"})])
    wait_for(
        "a live update after the reprocess",
        lambda: search(env, {"ids": {"values": [article.id]}})[article.id]["title"] == "جديد",
    )


# Once a known bug (3 of 6 runs, then 1-2 of 11, waited forever): the new worker committed all 20
# requests but wrote 19 changes. Its reprocess partitions had never been committed, and Faust
# seeks only committed partitions back after a rebalance, so a request fetched and dropped during
# a rebalance at start-up was skipped for good (stream/faust_consumer.py now seeks them to their
# beginning; 5 of 5 runs then passed).
def test_an_interrupted_reprocess_resumes(live_stack: Settings, tmp_path: Path) -> None:
    env = StreamEnv(live_stack)
    try:
        with running_worker(env, tmp_path / "w1"):
            articles = first_corpus_articles(20)
            publish(env, articles)
            wait_for("indexed", lambda: len(search(env, {"match_all": {}})) == 20)
        # No worker now: the run sends everything, then waits; interrupt it while it waits.
        first = subprocess.Popen(
            [sys.executable, "-m", "rasad.cli", "reprocess", "--source", articles[0].source.id],
            cwd=REPO, env=env.env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        runs = f"{env.settings.engine_url}/{env.index_prefix}-reprocess-runs/_search"

        def state() -> str | None:
            got = httpx.post(runs, json={"query": {"match_all": {}}}, timeout=60)
            hits = got.json().get("hits", {}).get("hits", []) if got.status_code == 200 else []
            return hits[0]["_source"]["state"] if hits else None

        wait_for("the first run sent everything", lambda: state() == "processing")
        first.send_signal(signal.SIGINT)
        first.wait(60)
        assert state() == "processing"
        with running_worker(env, tmp_path / "w2", setup=False):
            again = reprocess(env, tmp_path, "--source", articles[0].source.id)
        assert again.returncode == 0, again.stderr.decode()
        assert b"resuming reprocess" in again.stderr
        report = json.loads(again.stdout)
        expected = sum(a.source.id == articles[0].source.id for a in articles)
        assert report["articles"] == expected
        assert state() == "done"
    finally:
        env.delete_topics()


STORED = 200
LIVE = 20
# Enriching the stored articles through a worker that is still starting: minutes on a loaded box.
STORE_TIMEOUT_S = 600.0
# Publish -> searchable of a live article while a reprocess runs: 13.5-22.5 s (p95 22.5 s) on
# the shared 2-core box at load average ~24, where a niced worker enriches a few articles per
# second; the bench measures the figure (bench/bench_reprocess.py). The bound only catches live
# articles queued behind the whole reprocess; the ordering check below is the sharper one.
LIVE_FRESHNESS_P95_S = 60.0


def test_live_articles_stay_fresh_while_a_reprocess_runs(
    live_stack: Settings, tmp_path: Path
) -> None:
    env = StreamEnv(live_stack)
    articles = first_corpus_articles(STORED + LIVE)
    stored, live = articles[:STORED], articles[STORED:]
    changes = f"{env.settings.engine_url}/{env.index_prefix}-reprocess-changes"

    def reprocessed() -> int:
        httpx.post(f"{changes}/_refresh", timeout=60)
        got = httpx.post(f"{changes}/_count", json={"query": {"match_all": {}}}, timeout=60)
        return int(got.json()["count"]) if got.status_code == 200 else 0

    try:
        with running_worker(env, tmp_path / "w"):
            publish(env, stored)
            wait_for(
                "stored",
                lambda: len(search(env, {"match_all": {}})) == STORED,
                timeout_s=STORE_TIMEOUT_S,
            )
            run = subprocess.Popen(
                [sys.executable, "-m", "rasad.cli", "reprocess", "--json"],
                cwd=REPO, env=env.env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )  # fmt: skip
            wait_for("the reprocess under way", lambda: reprocessed() > 0)
            published = time.time()
            publish(env, live)
            seen: dict[str, float] = {}

            def all_live_searchable() -> bool:
                ids = {"ids": {"values": [a.id for a in live if a.id not in seen]}}
                now = time.time()
                seen.update((i, now) for i in search(env, ids))
                return len(seen) == LIVE

            wait_for("every live article searchable", all_live_searchable)
            out, errors = run.communicate(timeout=600)
        assert run.returncode == 0, errors.decode()
        assert json.loads(out)["articles"] == STORED
        freshness = sorted(t - published for t in seen.values())
        p95 = freshness[int(0.95 * (LIVE - 1))]
        assert p95 <= LIVE_FRESHNESS_P95_S, freshness
        # Live articles did not queue behind the reprocess: each was enriched before the
        # reprocess's last article was.
        live_enriched = max(doc["enriched_at"] for doc in search(env, ids_of(live)).values())
        last_reprocessed = max(processed_at(changes))
        assert _time(live_enriched) < _time(last_reprocessed), (live_enriched, last_reprocessed)
    finally:
        env.delete_topics()


def ids_of(articles: list[Article]) -> dict[str, Any]:
    return {"ids": {"values": [a.id for a in articles]}}


def processed_at(changes: str) -> list[str]:
    found = httpx.post(
        f"{changes}/_search",
        json={"size": 1000, "_source": ["processed_at"], "query": {"match_all": {}}},
        timeout=60,
    )
    found.raise_for_status()
    return [h["_source"]["processed_at"] for h in found.json()["hits"]["hits"]]


def _time(iso: str) -> datetime:
    return datetime.fromisoformat(iso)
