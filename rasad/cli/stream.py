"""`rasad worker` (the Faust enrichment worker) and `rasad enrich` (articles, no Kafka).

Enrichment, Kafka and pydantic are imported when a command runs, not when the CLI starts."""

from __future__ import annotations

import gc
import hashlib
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rasad.cli.console import fail

if TYPE_CHECKING:
    from rasad.core.article import Article

# The source of an article given on the command line rather than read from a feed.
LOCAL_SOURCE = {"id": "local", "name": "local file", "country": "INT", "kind": "private"}
# Article ids are this many hex digits of a SHA-256, like the producers' ids.
ID_HEX_DIGITS = 16
# Input read by `rasad enrich`: far past any article (the text is cut at
# RASAD_STREAM_ENRICH_MAX_CHARS anyway), and it keeps a mistaken multi-GB file out of memory.
MAX_INPUT_BYTES = 100_000_000
# Allocations between young-generation collections: enrichment allocates many short-lived
# objects per article; 700 (the default) made the collector run several times per article.
GC_GEN0_THRESHOLD = 50_000


def settle_collector() -> None:
    """After warm_up(): the gazetteer, model and caches it loaded live for the whole process, so
    move them out of the collector's sight, and let the per-word caches grow without triggering
    a full collection every few articles (measured: ~0.5 ms CPU per article otherwise)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, 20, 10)


class InputError(ValueError):
    """The input of `rasad enrich` is neither a JSON article nor UTF-8 text."""


def read_article(data: bytes, origin: str, now: datetime) -> Article:
    """An article from a JSON object (at least ``title`` and ``body``; other Article fields
    optional) or from UTF-8 plain text (first line title, the rest body)."""
    import orjson

    if data.lstrip()[:1] == b"{":
        try:
            fields: Any = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{origin}: not valid JSON: {exc}") from exc
        if not isinstance(fields.get("title"), str) or not isinstance(fields.get("body"), str):
            raise InputError(f"{origin}: a JSON article needs string fields 'title' and 'body'")
        return _complete(fields, origin, now)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{origin}: not UTF-8 text (byte {exc.start}); convert it first") from exc
    title, _, body = text.strip().partition("\n")
    if not title.strip():
        raise InputError(f"{origin}: empty input; the first line must be the title")
    return _complete({"title": title.strip(), "body": body.strip()}, origin, now)


def _complete(fields: dict[str, Any], origin: str, now: datetime) -> Article:
    """Fill the fields a feed would have given with values that say where the text came from."""
    from pydantic import ValidationError

    from rasad.core.article import Article, SchemaError, Source

    url = str(fields.get("url") or f"file:{origin}")
    canonical = str(fields.get("canonical_url") or url)
    content = f"{fields['title']}\n{fields.get('summary', '')}\n{fields['body']}"
    defaults: dict[str, Any] = {
        "id": hashlib.sha256(canonical.encode()).hexdigest()[:ID_HEX_DIGITS],
        "url": url,
        "canonical_url": canonical,
        "published_at": now,
        "date_flag": "missing",
        "fetched_at": now,
        "source": Source.model_validate(LOCAL_SOURCE),
        "feed_url": url,
        "body_kind": "full_text",
        "content_hash": hashlib.sha256(content.encode()).hexdigest(),
    }
    try:
        return Article.model_validate({**defaults, **fields})
    except ValidationError as exc:
        raise InputError(f"{origin}: {SchemaError(str(exc))}") from exc


def enrich_command(
    path: Annotated[
        str, typer.Argument(help="A JSON article or a UTF-8 text file; '-' reads stdin.")
    ] = "-",
    jsonl: Annotated[
        bool,
        typer.Option(
            "--jsonl",
            help="JSON Lines: one article per line in, one enriched article per line out "
            "(the default for a *.jsonl file).",
        ),
    ] = False,
) -> None:
    """Enrich articles without Kafka and print them as JSON (exactly what the agent does)."""
    if jsonl or path.endswith(".jsonl"):
        from rasad.cli.enrich_lines import enrich_lines

        enrich_lines(path, MAX_INPUT_BYTES)
        return
    now = datetime.now(UTC)
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            with Path(path).open("rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise fail(f"{path}: cannot read: {exc.strerror}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise fail(f"{path}: over {MAX_INPUT_BYTES:,} bytes; an article is at most a few MB")
    origin = "stdin" if path == "-" else str(Path(path).resolve())
    try:
        article = read_article(data, origin, now)
    except InputError as exc:
        raise fail(str(exc)) from None
    import orjson

    from rasad.core.settings import get_settings
    from stream.enrich.cluster import StoryClusters
    from stream.enrich.pipeline import EnrichmentError, enrich

    try:
        enriched = enrich(article, StoryClusters({}), now, get_settings().stream_enrich_max_chars)
    except EnrichmentError as exc:
        raise fail(str(exc)) from None
    sys.stdout.buffer.write(
        orjson.dumps(enriched.model_dump(mode="json"), option=orjson.OPT_INDENT_2) + b"\n"
    )


def worker() -> None:
    """Run the Faust worker: raw -> enriched -> engine, and the alert agents (stream/app.py)."""
    from kafka.errors import KafkaError

    from rasad.core.logs import configure_logging, get_logger
    from rasad.core.settings import get_settings
    from rasad.core.topics import TopicMismatchError, ensure_topics
    from stream.enrich.pipeline import EnrichmentError, warm_up

    log = get_logger(__name__)
    settings = get_settings()
    configure_logging(settings)
    try:
        created = ensure_topics(settings)
        warm_up()
    except (TopicMismatchError, KafkaError, EnrichmentError) as exc:
        raise fail(f"{type(exc).__name__}: {exc}") from None
    if created:
        log.info("topics created", topics=created)
    settle_collector()
    # Faust creates its data dir without parents.
    settings.stream_data_dir.mkdir(parents=True, exist_ok=True)
    import faust

    from stream.app import app as faust_app

    log.info(
        "worker starting",
        app_id=settings.stream_app_id,
        web=f"{settings.worker_web_host}:{settings.worker_web_port}",
    )
    faust.Worker(
        faust_app,
        loglevel=settings.log_level,
        quiet=True,
        override_logging=False,
    ).execute_from_commandline()


def register(app: typer.Typer) -> None:
    app.command("enrich")(enrich_command)
    app.command("worker")(worker)
