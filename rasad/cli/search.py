"""`rasad search`, `rasad index-stats` and the index maintenance commands.

The indexers, the engine client and rich are imported when a command runs, not when the CLI
starts."""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import typer

from rasad.cli.console import err, out, plain

if TYPE_CHECKING:
    from rich.text import Text

    from indexers.search.searcher import SearchResult
    from rasad.core.engine.client import Engine
    from rasad.core.settings import Settings

T = TypeVar("T")
_MARK = re.compile(r"(</?mark>)")
# indexers.search.searcher.SortOrder, spelled out so that --help needs no searcher import
# (mypy checks that the value passed on to SearchRequest is one it accepts).
SortOrder = Literal["relevance", "newest", "oldest"]


def _run(work: Callable[[Engine, Settings], Awaitable[T]]) -> T:
    from rasad.cli.engine_run import run_with_engine
    from rasad.core.engine.client import QueryError

    return run_with_engine(work, (QueryError,), "query error")


def _marked(fragment: str) -> Text:
    """An engine highlight (HTML-escaped, <mark> around matches) as styled terminal text."""
    from rich.text import Text

    text = Text()
    inside = False
    for part in _MARK.split(fragment):
        if part in ("<mark>", "</mark>"):
            inside = part == "<mark>"
        elif part:
            text.append(html.unescape(part), style="bold yellow" if inside else None)
    return text


def _print_result(result: SearchResult) -> None:
    from rich.table import Table

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
    console = out()
    console.print(table)
    console.print(f"{result.total} articles, {result.took_ms} ms")
    for name, buckets in result.facets.items():
        if buckets and name != "published":
            facet = ", ".join(f"{b.key} ({b.count})" for b in buckets)
            console.print(f"[bold]{name}:[/] {plain(facet)}")
    if result.next_cursor:
        console.print(f"next page: --cursor {result.next_cursor}")


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
    import orjson

    from indexers.search.query import Filters
    from indexers.search.searcher import SearchRequest, search

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


def index_stats_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Article counts per index and freshness (newest published / indexed)."""
    import orjson
    from rich.table import Table

    from indexers.search.searcher import index_stats

    stats = _run(index_stats)
    if as_json:
        typer.echo(orjson.dumps(asdict(stats), option=orjson.OPT_INDENT_2).decode())
        return
    table = Table("index", "articles")
    for name, count in stats.indices.items():
        table.add_row(name, f"{count:,}")
    console = out()
    console.print(table)
    console.print(f"total {stats.total:,} articles")
    console.print(f"newest published_at: {stats.newest_published_at or '-'}")
    console.print(f"newest indexed_at:   {stats.newest_indexed_at or '-'}")


def index_migrate_command() -> None:
    """Move the article aliases to this version's mapping, reindexing behind them."""
    from indexers.index.templates import migrate

    for line in _run(migrate) or ["already on the current mapping"]:
        err().print(line)


def reload_synonyms_command() -> None:
    """Apply indexers/index/analysis/synonyms.txt to live indices (each closes for ~1 s)."""
    from indexers.index.templates import reload_synonyms

    for index in _run(reload_synonyms):
        err().print(f"reloaded synonyms on {index}")


def register(app: typer.Typer) -> None:
    app.command("search")(search_command)
    app.command("index-stats")(index_stats_command)
    app.command("index-migrate")(index_migrate_command)
    app.command("index-reload-synonyms")(reload_synonyms_command)
