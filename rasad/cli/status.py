"""`rasad status`: one screen with the health of every part of the pipeline.

Each part is asked through its own public interface (Kafka's admin API, the engine adapter and
the indexer's stats, the producers' state files, the worker's and the web app's HTTP endpoints);
one part being down never hides the others. Exit code 1 when a part that should answer does not.
Each probe imports its client when it runs, not when the CLI starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer

from rasad.cli.console import out
from rasad.cli.status_kafka import kafka_health as kafka_health

if TYPE_CHECKING:
    import httpx
    from rich.table import Table

    from rasad.core.settings import Settings

# A loopback service that needs longer than this to answer a health probe is not healthy.
PROBE_TIMEOUT_S = 3.0
# Feeds listed by name when failing or dead; the rest are counted, so the screen stays one.
MAX_LISTED = 5
# Counters shown from a worker's /metrics page: Prometheus family name -> label on screen.
WORKER_COUNTERS = {
    "rasad_stream_enriched": "enriched",
    "rasad_stream_dead_lettered": "dead-lettered",
    "rasad_indexer_documents": "indexer",
}
# The gauge a worker keeps per assigned partition (stream/lag.py); shown summed.
WORKER_LAG = "rasad_consumer_lag"


@dataclass
class Part:
    """One row of the screen. ``ok`` None: not running here, which is not an error by itself."""

    name: str
    ok: bool | None
    summary: str
    details: list[str] = field(default_factory=list)


# --- Kafka -------------------------------------------------------------------------------------


def _kafka_parts(settings: Settings) -> list[Part]:
    from kafka.errors import KafkaError

    from rasad.core.topics import pipeline_topics

    try:
        health = kafka_health(settings)
    except (KafkaError, OSError) as exc:
        return [Part("kafka", False, f"unreachable at {settings.kafka_bootstrap_servers}: {exc}")]
    specs = pipeline_topics(settings)
    missing = [s.name for s in specs if s.name not in health.partitions]
    topics = [
        f"{s.name}: {health.partitions[s.name]} partitions, {health.messages[s.name]} messages"
        for s in specs
        if s.name in health.partitions and not s.name.endswith(settings.topic_dead_letter_suffix)
    ]
    if missing:
        topics.append(f"missing topics: {', '.join(missing)} (run `rasad setup`)")
    kafka = Part(
        "kafka",
        not missing,
        f"{len(health.brokers)} broker(s): {', '.join(health.brokers)}",
        topics,
    )
    groups = Part(
        "consumer lag",
        True,
        f"{len(health.groups)} group(s) on the pipeline topics",
        [
            f"{g.group}: lag {g.lag} on {', '.join(g.topics)} ({g.members} member(s), {g.state})"
            for g in health.groups
        ],
    )
    dead = {
        s.name: health.messages.get(s.name, 0)
        for s in specs
        if s.name.endswith(settings.topic_dead_letter_suffix)
    }
    dead_part = Part(
        "dead letters",
        True,
        f"{sum(dead.values())} message(s) in {len(dead)} dead-letter topic(s)",
        [f"{name}: {count}" for name, count in dead.items() if count],
    )
    return [kafka, groups, dead_part]


# --- Engine ------------------------------------------------------------------------------------


async def _engine_part(settings: Settings) -> Part:
    from indexers.search.searcher import index_stats
    from rasad.core.engine.client import EngineError, open_engine

    try:
        async with open_engine(settings) as engine:
            health = await engine.health()
            colour = str(health.get("status", "unknown"))
            summary = f"{engine.info.kind} {engine.info.version} at {settings.engine_url}, {colour}"
            try:
                stats = await index_stats(engine, settings)
            except EngineError as exc:
                return Part("engine", False, summary, [f"no article index: {exc} (`rasad setup`)"])
    except EngineError as exc:
        return Part("engine", False, f"unreachable at {settings.engine_url}: {exc}")
    details = [
        f"{stats.total} articles in {settings.articles_read_alias} "
        f"({len(stats.indices)} index(es))",
        f"newest indexed_at: {stats.newest_indexed_at or 'none'}; "
        f"newest published_at: {stats.newest_published_at or 'none'}",
    ]
    return Part("engine", colour in ("green", "yellow"), summary, details)


# --- Producers ---------------------------------------------------------------------------------


def _feeds_part(settings: Settings) -> Part:
    from datetime import UTC, datetime

    from producers.registry import RegistryError, load_registry
    from producers.runner import feed_health, spool_path
    from producers.silence import shows_silent, silent_outlets
    from producers.spool import Spool

    try:
        registry = load_registry()
    except RegistryError as exc:
        return Part("feeds", False, str(exc))
    health = feed_health(settings)
    enabled = [f for f in registry if f.enabled]
    quiet = silent_outlets(enabled, health, datetime.now(UTC), settings.producer_silent_factor)
    counts: dict[str, int] = {}
    for feed in enabled:
        h = health.get(feed.id)
        state: str = h.state if h else "never polled"
        if shows_silent(feed, h, quiet):
            state = "silent"
        counts[state] = counts.get(state, 0) + 1
    summary = f"{len(enabled)} enabled source(s): " + ", ".join(
        f"{n} {state}" for state, n in sorted(counts.items())
    )
    details = []
    bad = [h for h in health.values() if h.state in ("failing", "dead")]
    for h in sorted(bad, key=lambda h: h.id)[:MAX_LISTED]:
        details.append(f"{h.id} {h.state}: {h.last_error or ''}"[:160])
    if len(bad) > MAX_LISTED:
        details.append(f"... and {len(bad) - MAX_LISTED} more (`rasad feeds status`)")
    path = spool_path(settings)
    if path.exists():
        spool = Spool(path)
        try:
            waiting, dead = spool.size(), spool.dead_letters()
        finally:
            spool.close()
        details.append(f"spool: {waiting} waiting for the broker, {dead} refused for good")
    ok = None if not health else not any(h.state == "dead" for h in health.values())
    return Part("feeds", ok, summary, details)


# --- Worker and web app (their own HTTP endpoints) ---------------------------------------------


def worker_counters(metrics_text: str) -> dict[str, float]:
    """The pipeline counters of a worker's Prometheus page, summed over their labels, and the
    worker's own consumer lag (over the partitions assigned to it) when it reports one."""
    from prometheus_client.parser import text_string_to_metric_families

    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics_text):
        if family.name == WORKER_LAG:
            totals["lag"] = sum(sample.value for sample in family.samples)
            continue
        label = WORKER_COUNTERS.get(family.name)
        if label is None:
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                outcome = sample.labels.get("outcome")
                key = f"{label} {outcome}" if outcome else label
                totals[key] = totals.get(key, 0.0) + sample.value
    return totals


async def _worker_part(settings: Settings, client: httpx.AsyncClient) -> Part:
    import httpx

    url = f"http://{settings.worker_web_host}:{settings.worker_web_port}/metrics"
    try:
        response = await client.get(url)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        return Part("worker", None, f"no worker answers at {url} ({type(exc).__name__})")
    counters = worker_counters(response.text)
    details = [", ".join(f"{k}: {v:.0f}" for k, v in sorted(counters.items()))] if counters else []
    return Part("worker", True, f"metrics at {url}", details)


async def _web_part(settings: Settings, client: httpx.AsyncClient) -> Part:
    import httpx

    url = f"http://{settings.web_host}:{settings.web_port}/healthz"
    try:
        response = await client.get(url)
    except httpx.HTTPError as exc:
        return Part("web app", None, f"not running at {url} ({type(exc).__name__})")
    try:
        body: Any = response.json()
    except ValueError:
        return Part("web app", False, f"{url} answered {response.status_code}, not JSON")
    details = [
        f"{name}: {body[name].get('detail')}" for name in ("kafka", "engine") if name in body
    ]
    return Part("web app", response.status_code == 200, f"{url}: {body.get('status')}", details)


async def _http_parts(settings: Settings) -> list[Part]:
    import asyncio

    import httpx

    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_S) as client:
        return list(
            await asyncio.gather(
                _engine_part(settings), _worker_part(settings, client), _web_part(settings, client)
            )
        )


def _stack_part(settings: Settings) -> Part:
    from rasad.stack import control as local_stack

    statuses = local_stack.status(settings)
    running = [s for s in statuses if s.running]
    if not running:
        return Part("local stack", None, "not started from this data_dir (external clusters?)")
    return Part(
        "local stack",
        all(s.healthy for s in statuses),
        ", ".join(f"{s.name} pid {s.pid or '-'}" for s in statuses),
        [f"{s.name}: {s.detail}" for s in statuses if not s.healthy],
    )


def collect(settings: Settings) -> list[Part]:
    """Every part's health, each asked independently (the blocking probes run in threads)."""
    import asyncio

    async def gather() -> list[Part]:
        blocking: list[Callable[[Settings], Any]] = [_stack_part, _kafka_parts, _feeds_part]
        results = await asyncio.gather(
            *(asyncio.to_thread(fn, settings) for fn in blocking), _http_parts(settings)
        )
        stack_part, kafka_parts, feeds_part, http_parts = results
        engine_part, worker_part, web_part = http_parts
        return [
            stack_part,
            *kafka_parts[:1],
            engine_part,
            feeds_part,
            worker_part,
            *kafka_parts[1:],
            web_part,
        ]

    return asyncio.run(gather())


def render(parts: list[Part]) -> Table:
    from rich.table import Table

    table = Table(title="rasad status", show_lines=False, expand=False)
    table.add_column("part", style="bold", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for part in parts:
        state = {True: "[green]ok[/]", False: "[red]DOWN[/]", None: "[yellow]off[/]"}[part.ok]
        text = "\n".join([part.summary, *(f"  {d}" for d in part.details)])
        table.add_row(part.name, state, text)
    return table


def status() -> None:
    """One screen: Kafka, engine, feeds, workers, consumer lag, dead letters, web app."""
    from rasad.core.settings import get_settings

    parts = collect(get_settings())
    out().print(render(parts), highlight=False)
    if any(p.ok is False for p in parts):
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.command("status")(status)
