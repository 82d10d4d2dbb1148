"""`rasad feeds discover ID|URL...|--all [--json] [--write]`: find outlets' feeds and news
sitemaps, propose them, and with --write add them to the registry keeping its comments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer

from rasad.cli.console import out, plain
from rasad.cli.produce import DEFAULT_REGISTRY, RegistryOption

if TYPE_CHECKING:
    from producers.discover import Proposal
    from producers.registry import Outlet


def web_url(name: str) -> bool:
    """An http(s) URL with a host (and a valid port, if any), without spaces: one a request
    and a registry entry can use. ``http://``, ``http://[zz`` and ``http://a b`` are not."""
    try:
        parts = urlsplit(name)
        _ = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError:
        return False
    blank = any(c.isspace() for c in name)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not blank


def _sites(outlets: list[Outlet], names: list[str], every: bool) -> list[tuple[str | None, str]]:
    """(outlet id or None, homepage) per target; a URL belongs to the outlet of its host."""
    from producers.canonical import host_of

    if every:
        return [(o.id, o.homepage) for o in outlets]
    by_id = {o.id: o for o in outlets}
    by_host = {host_of(o.homepage): o.id for o in outlets}
    sites: list[tuple[str | None, str]] = []
    for name in names:
        if name in by_id:
            sites.append((name, by_id[name].homepage))
        elif web_url(name):
            sites.append((by_host.get(host_of(name)), name))
        else:
            out().print(f"[red]{plain(name)}: neither an outlet id nor an http(s) URL[/red]")
            raise typer.Exit(2)
    return sites


def _print(found: list[tuple[str | None, Proposal]]) -> None:
    from rich.table import Table

    table = Table(title=f"rasad feeds discover: {len(found)} sources found")
    for column in ("outlet", "type", "url", "found by", "verdict", "items", "registry"):
        table.add_column(column, overflow="fold")
    for outlet, p in found:
        status = "known" if p.known else ("new" if outlet else "new (no outlet)")
        table.add_row(outlet or "", p.type, p.url, p.found_by, p.verdict, str(p.items), status)
    out().print(table)


def feeds_discover(
    names: Annotated[list[str] | None, typer.Argument(help="Outlet ids or homepage URLs.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every outlet of the registry.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per source.")] = False,
    write: Annotated[bool, typer.Option(help="Add new sources to the registry.")] = False,
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """Find feeds (homepage alternate links, common paths) and news sitemaps (robots.txt,
    sitemap indexes, <news:news> entries); --write adds the new ones, keeping comments."""
    import asyncio
    import json

    from producers.check import Thresholds
    from producers.discover import discover
    from producers.fetch import Fetcher, FetchLimits
    from producers.registry import RegistryError
    from producers.registry_edit import add_sources
    from rasad.cli.feeds import load_outlets_or_exit
    from rasad.core.settings import get_settings

    if not names and not every:
        out().print("[red]name outlets or homepage URLs, or pass --all[/red]")
        raise typer.Exit(2)
    settings = get_settings()
    outlets = load_outlets_or_exit(registry)
    sites = _sites(outlets, names or [], every)
    known = {s.url for o in outlets for s in o.specs()}
    limits = Thresholds(timedelta(days=settings.producer_stale_days), settings.producer_slow_s)
    now = datetime.now(UTC)

    async def run() -> list[list[Proposal]]:
        slots = asyncio.Semaphore(settings.producer_concurrency)
        async with Fetcher(FetchLimits.from_settings(settings)) as fetcher:

            async def one(homepage: str) -> list[Proposal]:
                async with slots:
                    return await discover(fetcher, homepage, now, limits, known)

            return list(await asyncio.gather(*(one(home) for _, home in sites)))

    results = asyncio.run(run())
    found = [(outlet, p) for (outlet, _), ps in zip(sites, results, strict=True) for p in ps]
    if as_json:
        for outlet, p in found:
            print(json.dumps({"outlet": outlet, **p.to_json()}, ensure_ascii=False))
    else:
        _print(found)
    if write:
        verified = f"rasad feeds discover (answered with items), {now.date().isoformat()}"
        additions = [
            (outlet, p.type, p.url, f"found by rasad feeds discover ({p.found_by})")
            for outlet, p in found
            if outlet and not p.known
        ]
        try:
            added = add_sources(registry, additions, verified)
        except RegistryError as exc:
            out().print(f"[red]{plain(exc)}[/red]")
            raise typer.Exit(2) from exc
        out().print(f"{added} source(s) added to {registry}")
