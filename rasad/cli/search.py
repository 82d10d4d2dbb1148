"""`rasad search`, `rasad index-stats` and the index maintenance commands."""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, TypeVar

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from indexers.index.templates import migrate, reload_synonyms
from indexers.search.query import Filters
from indexers.search.searcher import SearchRequest, SearchResult, SortOrder, index_stats, search
from rasad.cli.engine_run import run_with_engine
from rasad.core.engine.client import Engine, QueryError
from rasad.core.settings import Settings

T = TypeVar("T")
err = Console(stderr=True, soft_wrap=True)
_MARK = re.compile(r"(</?mark>)")


def _run(work: Callable[[Engine, Settings], Awaitable[T]]) -> T:
    return run_with_engine(work, (QueryError,), "query error")


def _marked(fragment: str) -> Text:
    """An engine highlight (HTML-escaped, <mark> around matches) as styled terminal text."""
    text = Text()
    inside = False
    for part in _MARK.split(fragment):
        if part in ("<mark>", "</mark>"):
            inside = part == "<mark>"
        elif part:
            text.append(html.unescape(part), style="bold yellow" if inside else None)
    return text


def _print_result(result: SearchResult) -> None:
    table = Table("published", "source", "title / match", show_lines=True, expand=True)
    for hit in result.hits:
        doc = hit.document
        title = hit.highlights.get("title", [doc.get("title", "")])[0]
        cell = _marked(title)
        snippet = (hit.highlights.get("body") or hit.highlights.get("summary") or [""])[0]
        if snippet:
            cell.append("\n")
            cell.append_text(_marked(snippet))
        cell.append(f"\n{doc.get('url', '')}", style="dim")
        table.add_row(doc.get("published_at", "")[:16], doc.get("source", {}).get("id", ""), cell)
    out = Console()
    out.print(table)
    out.print(f"{result.total} articles, {result.took_ms} ms")
    for name, buckets in result.facets.items():
        if buckets and name != "published":
            out.print(f"[bold]{name}:[/] " + ", ".join(f"{b.key} ({b.count})" for b in buckets))
    if result.next_cursor:
        out.print(f"next page: --cursor {result.next_cursor}")


def _date(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO date", param_hint=option) from None
    if moment.tzinfo is None:
        raise typer.BadParameter("add a time zone, e.g. 2018-03-01T00:00+00:00", param_hint=option)
    return moment


def register(app: typer.Typer) -> None:
    @app.command("search")
    def search_command(
        query: Annotated[str, typer.Argument(help='Words, "phrases", AND/OR/NOT, ( ).')] = "",
        topic: Annotated[list[str] | None, typer.Option(help="Topic tag (repeatable).")] = None,
        min_score: Annotated[float | None, typer.Option(help="Minimum topic score.")] = None,
        entity: Annotated[list[str] | None, typer.Option(help="Entity name or id.")] = None,
        source: Annotated[list[str] | None, typer.Option(help="Source id (repeatable).")] = None,
        country: Annotated[list[str] | None, typer.Option(help="Source country.")] = None,
        language: Annotated[list[str] | None, typer.Option(help="Language code.")] = None,
        since: Annotated[str | None, typer.Option(help="Recent only: 30m, 24h, 7d, 2w.")] = None,
        date_from: Annotated[str | None, typer.Option("--from", help="ISO date.")] = None,
        date_to: Annotated[str | None, typer.Option("--to", help="ISO date.")] = None,
        cluster: Annotated[str | None, typer.Option(help="Same-story cluster id.")] = None,
        sort: Annotated[SortOrder, typer.Option(help="relevance, newest or oldest.")] = "relevance",
        size: Annotated[int, typer.Option(help="Results per page (1-100).")] = 10,
        cursor: Annotated[str | None, typer.Option(help="Next-page cursor.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Search indexed articles; Arabic spelling variants match each other."""
        request = SearchRequest(
            query=query,
            filters=Filters(
                topics=tuple(topic or ()),
                min_topic_score=min_score,
                entities=tuple(entity or ()),
                sources=tuple(source or ()),
                countries=tuple(country or ()),
                languages=tuple(language or ()),
                since=since,
                date_from=_date(date_from, "--from"),
                date_to=_date(date_to, "--to"),
                cluster_id=cluster,
            ),
            sort=sort,
            size=size,
            cursor=cursor,
        )
        result = _run(lambda engine, settings: search(engine, settings, request))
        if as_json:
            payload: dict[str, Any] = asdict(result)
            typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())
        else:
            _print_result(result)

    @app.command("index-stats")
    def index_stats_command(
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Article counts per index and freshness (newest published / indexed)."""
        stats = _run(index_stats)
        if as_json:
            typer.echo(orjson.dumps(asdict(stats), option=orjson.OPT_INDENT_2).decode())
            return
        table = Table("index", "articles")
        for name, count in stats.indices.items():
            table.add_row(name, f"{count:,}")
        out = Console()
        out.print(table)
        out.print(f"total {stats.total:,} articles")
        out.print(f"newest published_at: {stats.newest_published_at or '-'}")
        out.print(f"newest indexed_at:   {stats.newest_indexed_at or '-'}")

    @app.command("index-migrate")
    def index_migrate_command() -> None:
        """Move the article aliases to this version's mapping, reindexing behind them."""
        for line in _run(migrate) or ["already on the current mapping"]:
            err.print(line)

    @app.command("index-reload-synonyms")
    def reload_synonyms_command() -> None:
        """Apply indexers/index/analysis/synonyms.txt to live indices (each closes for ~1 s)."""
        for index in _run(reload_synonyms):
            err.print(f"reloaded synonyms on {index}")
