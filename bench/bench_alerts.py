"""Alert matching throughput with many stored alerts, and hit latency article -> webhook.

    .venv/bin/python bench/bench_alerts.py [--alerts 10000] [--articles 2000] [--latency 200]

1. Throughput: N alerts built from real corpus vocabulary, shaped like analysts' alerts: 40%
   "a AND b", 30% two-word title phrases, 15% "(a OR b) AND c", 15% "a AND b NOT c" (a lone
   common word OR'd with another matches a third of the news: nobody keeps such an alert)
   are bulk-stored as percolator queries in a fresh alerts index; then
   corpus articles are percolated in batches of ``alert_percolate_batch`` (one request per
   batch, as the agent does). Target: >= 200 articles/s with 10,000 alerts.
2. Latency: a real `rasad worker` subprocess (enrichment + alert agents of stream/app.py), one
   alert pointing at an aiohttp receiver on 127.0.0.1; corpus articles mentioning ترامب are
   produced to the raw topic one by one; latency = receiver arrival - send time.
   Target: p95 <= 2 s. Topics and indices are deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiohttp import web
from aiokafka import AIOKafkaProducer
from kafka import KafkaAdminClient

from indexers.alerts import matcher
from indexers.alerts import store as alerts
from indexers.alerts.store import Alert, AlertSpec, ensure_alert_indices, percolator_query
from indexers.index.templates import ensure_index_setup
from rasad.core.article import Article
from rasad.core.engine.client import Engine
from rasad.core.kafka import bootstrap_servers, client_config
from rasad.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.index_fixtures import raw_corpus, to_enriched  # noqa: E402

# Alerts per bulk request while storing them: ~1 MB of percolator documents.
BULK = 500
# Worker start-up (group joins, topic creation, model warm-up) fits well inside this.
STARTUP_TIMEOUT_S = 180.0
WORD = re.compile(r"[\u0621-\u064A]{4,}")


def alert_queries(n: int, seed: int = 7) -> list[str]:
    """``n`` analyst-like queries from the corpus's own words (frequent, not stop words)."""
    counts: Counter[str] = Counter()
    titles = [r["title"] for r in raw_corpus(None, 3)]
    for title in titles:
        counts.update(WORD.findall(title))
    # Ranks 300-5,000: names and specific terms, as analysts write alerts (the most frequent
    # words would match a third of the news); operator words (بدون = NOT) are left out.
    words = [w for w, _ in counts.most_common(5000)[300:] if w != "بدون"]
    rng = random.Random(seed)
    queries = []
    for i in range(n):
        a, b, c = rng.sample(words, 3)
        kind = i % 20
        if kind < 8:
            queries.append(f"{a} AND {b}")
        elif kind < 14:
            pair = WORD.findall(rng.choice(titles))[:2]
            queries.append(f'"{" ".join(pair)}"' if len(pair) == 2 else f"{a} AND {b}")
        elif kind < 17:
            queries.append(f"({a} OR {b}) AND {c}")
        else:
            queries.append(f"{a} AND {b} NOT {c}")
    return queries


async def store_alerts(engine: Engine, settings: Settings, n: int, name: str) -> int:
    """``n`` generated alerts, bulk-stored as the alert store stores them; returns the count."""
    now = datetime.now(UTC)
    lines: list[dict[str, object]] = []
    for i, query in enumerate(alert_queries(n)):
        spec = AlertSpec(name=f"{name} {i}", query=query)
        alert = Alert(**spec.model_dump(), id=f"{name[0]}{i:06d}", created_at=now, updated_at=now)
        lines.append({"index": {"_index": settings.alerts_index, "_id": alert.id}})
        lines.append({"query": percolator_query(spec), "alert": alert.stored()})
        if len(lines) >= 2 * BULK:
            await _bulk(engine, lines)
            lines = []
    if lines:
        await _bulk(engine, lines)
    await engine.refresh(settings.alerts_index)
    return await engine.count(settings.alerts_index)


async def throughput(settings: Settings, n_alerts: int, n_articles: int) -> None:
    async with await Engine.connect(settings) as engine:
        await ensure_alert_indices(engine, settings)
        try:
            started = time.perf_counter()
            stored = await store_alerts(engine, settings, n_alerts, "bench")
            print(f"stored {stored} alerts in {time.perf_counter() - started:.1f} s")

            articles = [to_enriched(r) for r in raw_corpus(n_articles, 7)]
            batch = settings.alert_percolate_batch
            await matcher.percolate(engine, settings, articles[:batch])  # warm caches
            started = time.perf_counter()
            matches = 0
            for i in range(0, len(articles), batch):
                matches += len(await matcher.percolate(engine, settings, articles[i : i + batch]))
            elapsed = time.perf_counter() - started
            rate = len(articles) / elapsed
            print(
                f"percolated {len(articles)} articles against {stored} alerts in batches of "
                f"{batch}: {elapsed:.2f} s => {rate:.0f} articles/s (target >= 200), "
                f"{matches} matches ({matches / len(articles):.1f} per article)"
            )
        finally:
            await engine.delete_index(f"{settings.index_prefix}-*")


async def _bulk(engine: Engine, lines: list[dict[str, object]]) -> None:
    result = await engine.bulk(lines)
    if result.get("errors"):
        failed = [i for i in result["items"] if i["index"]["status"] >= 300]
        raise RuntimeError(f"{len(failed)} alerts refused, e.g. {failed[0]}")


async def _receiver(arrived: dict[str, float], got: asyncio.Event) -> tuple[web.AppRunner, str]:
    """A webhook receiver on loopback that notes when each article's hit arrives."""

    async def hook(request: web.Request) -> web.Response:
        payload = orjson.loads(await request.read())
        arrived[payload["article"]["id"]] = time.perf_counter()
        got.set()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/hook"


def _print_latency(waits: list[float], sent: dict[str, float], log_path: Path) -> None:
    if len(waits) < 2:
        print(f"only {len(waits)} hits arrived; see {log_path}")
        return
    q = statistics.quantiles(waits, n=100)
    print(
        f"latency raw topic -> webhook over {len(waits)}/{len(sent)} articles: "
        f"p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms "
        "(target p95 <= 2000 ms)"
    )


async def latency(base: Settings, count: int) -> None:
    tag = uuid.uuid4().hex[:10]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        web_port = s.getsockname()[1]
    overrides = {
        "index_prefix": f"bench{tag}",
        "topic_raw": f"bench.raw.{tag}",
        "topic_enriched": f"bench.enriched.{tag}",
        "topic_alert_hits": f"bench.hits.{tag}",
        "stream_app_id": f"rasad-bench-alerts-{tag}",
        "alert_webhook_allow": "127.0.0.1",
        "worker_web_port": web_port,
        "data_dir": Path(tempfile.mkdtemp(prefix="rasad-bench-alerts-")),
        "log_level": "WARNING",
    }
    settings = Settings(**{**base.model_dump(), **overrides})
    arrived: dict[str, float] = {}
    got = asyncio.Event()
    runner, url = await _receiver(arrived, got)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RASAD_")}
    env.update({f"RASAD_{k.upper()}": str(v) for k, v in overrides.items()})
    log_path = Path(str(overrides["data_dir"])) / "worker.log"
    worker = None
    admin = KafkaAdminClient(client_id="rasad-bench", **client_config(settings))
    try:
        async with await Engine.connect(settings) as engine:
            await ensure_index_setup(engine, settings)
            await alerts.create_alert(
                engine, settings,
                AlertSpec(name="bench", query="ترامب", throttle_max=1_000_000, webhook_url=url),
            )  # fmt: skip
        raws = [r for r in raw_corpus(None, 2) if "ترامب" in r["title"]][: count + 1]
        articles = [_raw_article(to_enriched(r, replica=hash(tag) % 1000 + 1)) for r in raws]
        with log_path.open("wb") as log:
            worker = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "rasad.cli", "worker", cwd=ROOT, env=env,
                stdout=log, stderr=log,
            )  # fmt: skip
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(settings), linger_ms=0)
            await producer.start()
            try:
                started = time.perf_counter()
                warm, rest = articles[0], articles[1:]
                await producer.send_and_wait(
                    settings.topic_raw, warm.to_json(), key=warm.id.encode()
                )
                while warm.id not in arrived:
                    if time.perf_counter() - started > STARTUP_TIMEOUT_S:
                        raise RuntimeError(f"no hit within {STARTUP_TIMEOUT_S} s; see {log_path}")
                    got.clear()
                    await asyncio.wait([asyncio.ensure_future(got.wait())], timeout=1.0)
                print(f"worker start-up until the first hit: {time.perf_counter() - started:.1f} s")
                sent: dict[str, float] = {}
                for article in rest:
                    sent[article.id] = time.perf_counter()
                    await producer.send_and_wait(
                        settings.topic_raw, article.to_json(), key=article.id.encode()
                    )
                    await asyncio.sleep(0.05)  # ~20 articles/s: a busy news hour is ~1/s
                deadline = time.perf_counter() + 30
                while any(i not in arrived for i in sent) and time.perf_counter() < deadline:
                    got.clear()
                    await asyncio.wait([asyncio.ensure_future(got.wait())], timeout=0.5)
            finally:
                await producer.stop()
        waits = sorted(arrived[i] - t for i, t in sent.items() if i in arrived)
        _print_latency(waits, sent, log_path)
    finally:
        if worker is not None and worker.returncode is None:
            worker.terminate()
            await worker.wait()
        await runner.cleanup()
        admin.delete_topics([t for t in admin.list_topics() if tag in t])
        admin.close()
        async with await Engine.connect(settings) as engine:
            await engine.delete_index(f"{settings.index_prefix}-*")
            await engine.delete_index_template(f"{settings.index_prefix}-articles-v1")


def _raw_article(enriched: object) -> Article:
    fields = enriched.model_dump(include=set(Article.model_fields))  # type: ignore[attr-defined]
    return Article.model_validate(fields)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--latency", type=int, default=200, help="articles; 0 skips")
    args = parser.parse_args()
    base = Settings()
    asyncio.run(throughput(base.model_copy(update={"index_prefix": f"bench{uuid.uuid4().hex[:8]}"}),
                           args.alerts, args.articles))  # fmt: skip
    if args.latency:
        asyncio.run(latency(base, args.latency))


if __name__ == "__main__":
    main()
