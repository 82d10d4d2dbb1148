"""`rasad reprocess`: re-enrich stored articles with the code and data the workers run now, and
report what changed (docs/reprocessing.md).

A real run selects the articles in the engine, sends one request per article to the reprocess
topic (the workers re-enrich them after live articles and index them), saving its cursor after
every page so an interrupted run resumes where it stopped, then waits for every article's
change record and stores the diff report. ``--dry-run`` re-enriches here, in this process, with
the same function, and prints the report without writing anything."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from rasad.cli.console import err, out

if TYPE_CHECKING:
    from rich.progress import Progress

    from rasad.core.engine.client import Engine
    from rasad.core.reprocess import DiffReport, RunParams, RunRecord
    from rasad.core.settings import Settings

# How often a waiting run counts the change records the workers wrote: a cheap count request.
POLL_S = 1.0


def reprocess(
    since: Annotated[str | None, typer.Option(help="Published within: 30d, 12h.")] = None,
    query: Annotated[str, typer.Option(help="Only articles matching this search query.")] = "",
    source: Annotated[str | None, typer.Option(help="Only this source id.")] = None,
    sample: Annotated[int | None, typer.Option(min=1, help="A random sample of N.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Re-enrich here and print the diff; write nothing.")
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
) -> None:
    """Re-enrich stored articles through the workers and report tags and entities gained and
    lost; an interrupted run with the same options resumes."""
    from rasad.cli.engine_run import run_with_engine
    from rasad.core.engine.client import QueryError
    from rasad.core.reprocess import RunParams, render_text

    params = RunParams(since=since, query=query, source=source, sample=sample)
    report = run_with_engine(
        lambda engine, settings: _run(engine, settings, params, dry_run, json_),
        refused=(QueryError, ValueError),
    )
    if json_:
        typer.echo(report.to_json().decode())
    else:
        out().print(render_text(report), highlight=False, markup=False)


def _progress(to_stderr: bool) -> Progress:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    console = Console(stderr=True) if to_stderr else out()
    return Progress(
        "{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=console, transient=False,
    )  # fmt: skip


async def _run(
    engine: Engine, settings: Settings, params: RunParams, dry_run: bool, to_stderr: bool
) -> DiffReport:
    from indexers.index.reprocess_store import count_selection, ensure_reprocess_indices

    if settings.stream_taxonomy_path:  # the workers' taxonomy, not the shipped one
        from pathlib import Path

        from stream.enrich.topics.reload import TaxonomyWatch

        TaxonomyWatch(Path(settings.stream_taxonomy_path)).start()
    if dry_run:
        total = await count_selection(engine, settings, params)
        with _progress(to_stderr) as progress:
            return await _dry_run(engine, settings, params, total, progress)
    await ensure_reprocess_indices(engine, settings)
    run = await _resume_or_start(engine, settings, params)
    with _progress(to_stderr) as progress:
        run = await _send(engine, settings, run, progress)
        return await _wait(engine, settings, run, progress)


async def _dry_run(
    engine: Engine, settings: Settings, params: RunParams, total: int, progress: Progress
) -> DiffReport:
    from indexers.index.documents import request_of
    from indexers.index.reprocess_store import pages
    from rasad.core.reprocess import ArticleChange, RunRecord, change_of, summarize, unwritten
    from stream.enrich.pipeline import EnrichmentError
    from stream.reprocess import reenrich

    now = datetime.now(UTC)
    run = RunRecord(id="dry-run", params=params, state="sending", started_at=now, total=total)
    task = progress.add_task("re-enriched (dry run)", total=total)
    changes: list[ArticleChange] = []
    async for docs, _ in pages(engine, settings, run, now):
        for doc in docs:
            request = request_of(run.id, doc)
            try:
                new = reenrich(request, now, settings.stream_enrich_max_chars)
                changes.append(change_of(request, new, now))
            except EnrichmentError:
                changes.append(unwritten(request, "failed", now))
            progress.advance(task)
    return summarize(run.id, changes)


async def _resume_or_start(engine: Engine, settings: Settings, params: RunParams) -> RunRecord:
    from indexers.index.reprocess_store import count_selection, save_run, unfinished_run
    from rasad.core.reprocess import RunRecord

    run = await unfinished_run(engine, settings, params)
    if run is not None:
        err().print(f"resuming reprocess {run.id}: {run.sent} of {run.total} sent")
        return run
    now = datetime.now(UTC)
    run_id = f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
    total = await count_selection(engine, settings, params)
    run = RunRecord(id=run_id, params=params, state="sending", started_at=now, total=total)
    await save_run(engine, settings, run)
    return run


async def _send(
    engine: Engine, settings: Settings, run: RunRecord, progress: Progress
) -> RunRecord:
    """Publish the run's requests from its cursor, saving the cursor after each page."""
    from kafka import KafkaProducer

    from indexers.index.documents import request_of
    from indexers.index.reprocess_store import pages, save_run
    from rasad.core.kafka import client_config

    task = progress.add_task("sent to the workers", total=run.total, completed=run.sent)
    if run.state != "sending":
        return run
    producer = KafkaProducer(**client_config(settings), acks="all", linger_ms=20)
    try:
        async for docs, cursor in pages(engine, settings, run, run.started_at):
            for doc in docs:
                value = request_of(run.id, doc).to_json()
                producer.send(settings.topic_reprocess, key=doc["id"].encode(), value=value)
            await asyncio.to_thread(producer.flush)
            run = run.model_copy(update={"sent": run.sent + len(docs), "cursor": cursor})
            await save_run(engine, settings, run)
            progress.update(task, completed=run.sent)
    finally:
        producer.close()
    run = run.model_copy(update={"state": "processing", "total": run.sent})
    await save_run(engine, settings, run)
    return run


async def _wait(
    engine: Engine, settings: Settings, run: RunRecord, progress: Progress
) -> DiffReport:
    """Wait for a change record per article sent, then store and return the report."""
    from indexers.index.reprocess_store import count_changes, read_changes, save_run
    from rasad.core.engine.client import EngineUnavailable
    from rasad.core.reprocess import summarize

    task = progress.add_task("re-enriched by the workers", total=run.sent)
    done = 0
    while done < run.sent:
        await asyncio.sleep(POLL_S)
        try:  # a busy engine times out a count now and then: the workers carry on regardless
            done = await count_changes(engine, settings, run.id)
        except EngineUnavailable:
            continue
        progress.update(task, completed=done)
    progress.update(task, completed=run.sent)
    report = summarize(run.id, await read_changes(engine, settings, run.id))
    finished = datetime.now(UTC)
    done_run = run.model_copy(update={"state": "done", "finished_at": finished, "report": report})
    await save_run(engine, settings, done_run)
    return report


def register(app: typer.Typer) -> None:
    app.command("reprocess")(reprocess)
