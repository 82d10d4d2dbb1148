"""`rasad feeds status|check|discover`: the outlet registry, each source's health and verdict.

The producers and rich are imported when a command runs, not when the CLI starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rasad.cli.console import out, plain
from rasad.cli.feeds_discover import feeds_discover, web_url
from rasad.cli.produce import DEFAULT_REGISTRY, RegistryOption, ago

if TYPE_CHECKING:
    from producers.check import CheckResult
    from producers.registry import FeedSpec, Outlet

# Exit code of `feeds check` when an enabled source is gone (2 is bad input).
EXIT_GONE = 1
_STYLES = {"ok": "green", "moved": "cyan", "stale": "yellow", "slow": "yellow", "gone": "red"}


def load_outlets_or_exit(registry: Path) -> list[Outlet]:
    from producers.registry import RegistryError, load_outlets

    try:
        return load_outlets(registry)
    except RegistryError as exc:
        out().print(f"[red]{plain(exc)}[/red]")
        raise typer.Exit(2) from exc


def _styled(text: str) -> str:
    style = _STYLES.get(text, "magenta" if text in ("blocked", "silent") else "")
    return f"[{style}]{text}[/{style}]" if style else text


def feeds_status(registry: RegistryOption = DEFAULT_REGISTRY) -> None:
    """Per outlet and source: state (silent when the outlet's news stopped), verdict, last
    success, errors."""
    from rich.table import Table

    from producers.silence import shows_silent, silent_outlets
    from producers.state import read_feed_health
    from rasad.core.settings import get_settings

    settings = get_settings()
    outlets = load_outlets_or_exit(registry)
    health = read_feed_health(settings.data_dir / settings.producer_state_path)
    factor = settings.producer_silent_factor
    every = [spec for outlet in outlets for spec in outlet.specs()]
    quiet = silent_outlets(every, health, datetime.now(UTC), factor)
    sources = len(every)
    table = Table(title=f"{len(outlets)} outlets, {sources} sources")
    for column in ("outlet", "source", "state", "verdict", "interval", "last success", "last new"):
        table.add_column(column, overflow="fold")
    for column in ("failures", "new/poll", "last error"):
        table.add_column(column, overflow="fold")
    for outlet in outlets:
        if not outlet.specs():
            table.add_row(outlet.id, "", "no source", "", "", "", "", "", "", outlet.note or "")
        for spec in outlet.specs():
            h = health.get(spec.id)
            if h is None:
                state = "new" if spec.enabled else "disabled"
                table.add_row(outlet.id, spec.id, state, "", f"{spec.interval:.0f}s", "never")
                continue
            silent = shows_silent(spec, h, quiet)
            table.add_row(
                outlet.id,
                spec.id,
                _styled("silent" if silent else (h.state if spec.enabled else "disabled")),
                _styled(h.verdict or ""),
                f"{h.interval_s:.0f}s",
                ago(h.last_success),
                ago(h.last_new),
                str(h.consecutive_failures),
                f"{h.new_per_poll:.1f}",
                h.last_error or h.verdict_detail or "",
            )
    out().print(table)


def _targets(outlets: list[Outlet], names: list[str], every: bool) -> list[FeedSpec | Outlet]:
    """Sources to check for ids (outlet or source) and URLs; an outlet with none stands alone."""
    from producers.registry import FeedSpec

    if every:
        return [s for o in outlets for s in (o.specs() or [o])]  # type: ignore[list-item]
    by_outlet = {o.id: o for o in outlets}
    by_source = {s.id: s for o in outlets for s in o.specs()}
    by_url = {s.url: s for s in by_source.values()}
    chosen: list[FeedSpec | Outlet] = []
    for n, name in enumerate(names, start=1):
        if name in by_outlet:
            chosen += by_outlet[name].specs() or [by_outlet[name]]
        elif name in by_source or name in by_url:
            chosen.append(by_source.get(name) or by_url[name])
        elif web_url(name):
            chosen.append(FeedSpec.for_url(name, f"url-{n}"))
        else:
            out().print(
                f"[red]{plain(name)}: neither an outlet or source id nor an http(s) URL[/red]"
            )
            raise typer.Exit(2)
    return chosen


def _no_source(outlet: Outlet) -> CheckResult:
    from producers.check import CheckResult

    return CheckResult(outlet.id, outlet.id, outlet.homepage, "no-source", outlet.note or "")


def _check_table(results: list[CheckResult]) -> None:
    from rich.table import Table

    table = Table(title=f"rasad feeds check: {len(results)} sources")
    for column in ("source", "verdict", "items", "newest", "arabic", "time", "detail"):
        table.add_column(column, overflow="fold")
    for r in results:
        age = f"{r.newest_age_s / 3600:.1f}h" if r.newest_age_s is not None else ""
        share = f"{r.arabic_share:.0%}" if r.arabic_share is not None else ""
        took = f"{r.elapsed_s:.1f}s" if r.elapsed_s is not None else ""
        detail = f"new URL: {r.new_url}" if r.new_url else r.detail
        name = r.url if r.source_id.startswith("url-") else r.source_id
        table.add_row(name, _styled(r.verdict), str(r.items), age, share, took, detail)
    out().print(table)


def feeds_check(
    names: Annotated[
        list[str] | None, typer.Argument(help="Outlet or source ids, or URLs.")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every outlet of the registry.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per source.")] = False,
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """One request per source, one verdict each: ok, stale, empty, not-a-feed, blocked, moved,
    gone, slow (or error). Exits 1 when an enabled source is gone."""
    import asyncio
    import json

    from producers.check import FATAL, CheckResult, Thresholds, check_all
    from producers.fetch import Fetcher, FetchLimits
    from producers.registry import FeedSpec
    from rasad.core.settings import get_settings

    if not names and not every:
        out().print("[red]name outlets, sources or URLs, or pass --all[/red]")
        raise typer.Exit(2)
    settings = get_settings()
    targets = _targets(load_outlets_or_exit(registry), names or [], every)
    specs = [t for t in targets if isinstance(t, FeedSpec)]
    limits = Thresholds(timedelta(days=settings.producer_stale_days), settings.producer_slow_s)

    async def run() -> list[CheckResult]:
        async with Fetcher(FetchLimits.from_settings(settings)) as fetcher:
            return await check_all(fetcher, specs, datetime.now(UTC), limits)

    checked = iter(asyncio.run(run()))
    results = [
        next(checked)
        if isinstance(t, FeedSpec)
        else CheckResult(t.id, t.id, t.homepage, "no-source")
        for t in targets
    ]
    if as_json:
        for r in results:
            print(json.dumps(r.to_json(), ensure_ascii=False))
    else:
        _check_table(results)
    enabled = {s.id for s in specs if s.enabled}
    if any(r.verdict in FATAL and r.source_id in enabled for r in results):
        raise typer.Exit(EXIT_GONE)


def register(app: typer.Typer) -> None:
    feeds_app = typer.Typer(help="The outlet registry: sources, their health and verdicts.")
    app.add_typer(feeds_app, name="feeds")
    feeds_app.command("status")(feeds_status)
    feeds_app.command("check")(feeds_check)
    feeds_app.command("discover")(feeds_discover)
