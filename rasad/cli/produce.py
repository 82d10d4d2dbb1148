"""`rasad produce`: poll the registry's sources into Kafka, or replay recorded data.

The producers, Kafka and rich are imported when a command runs, not when the CLI starts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

import producers
from rasad.cli.console import err, out, plain

if TYPE_CHECKING:
    from collections import Counter

    from rich.table import Table

    from producers.poller import PollOutcome
    from producers.registry import FeedSpec
    from producers.runner import ReplayTotals
    from rasad.core.settings import Settings

# producers.registry.DEFAULT_REGISTRY (the same file), without importing the registry's
# dependencies just to show the default in --help.
DEFAULT_REGISTRY = Path(producers.__file__).with_name("feeds.yaml")
RegistryOption = Annotated[Path, typer.Option(help="Feed registry YAML file.")]
# Exit codes of `rasad produce`: some replayed records refused or dead-lettered (the rest
# published); input missing or unreadable (with --replay, what was readable before the damage
# is published); a producer ending with articles still in its spool, which outranks the others
# (issue 18).
EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2
EXIT_SPOOLED = 3


def _load(registry: Path) -> list[FeedSpec]:
    from producers.registry import RegistryError, load_registry

    try:
        return load_registry(registry)
    except RegistryError as exc:
        out().print(f"[red]{plain(exc)}[/red]")
        raise typer.Exit(EXIT_BAD_INPUT) from exc


def _summary(outcomes: list[PollOutcome]) -> Table:
    from rich.table import Table

    table = Table(title="rasad produce --once")
    for column in ("feed", "status", "new", "updated", "not-modified", "spooled", "errors"):
        table.add_column(column, overflow="fold")
    styles = {"ok": "green", "not_modified": "cyan", "failing": "yellow", "dead": "red"}
    for o in sorted(outcomes, key=lambda o: (o.state, o.feed_id)):
        style = styles.get(o.state, "")
        table.add_row(
            o.feed_id,
            f"[{style}]{o.state}[/{style}]" if style else o.state,
            str(o.new),
            str(o.updated),
            "yes" if o.not_modified else "",
            str(o.spooled) if o.spooled else "",
            o.error or "",
        )
    return table


def ago(when: datetime | None) -> str:
    if when is None:
        return "never"
    seconds = int((datetime.now(UTC) - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def produce(
    once: Annotated[bool, typer.Option(help="Poll every enabled feed once and exit.")] = False,
    replay: Annotated[
        Path | None, typer.Option(help="Publish a corpus JSONL(.gz), feed file or folder.")
    ] = None,
    rate: Annotated[float | None, typer.Option(help="Replay articles/s (0 = unthrottled).")] = None,
    present: Annotated[
        bool,
        typer.Option(help="Replay: move publication times by whole weeks into the last week."),
    ] = False,
    registry: RegistryOption = DEFAULT_REGISTRY,
) -> None:
    """Poll the Arabic news feeds into Kafka (or replay recorded data, offline)."""
    import asyncio

    from producers.runner import SpoolNotDrainedError, run_forever, run_once
    from rasad.core.logs import configure_logging
    from rasad.core.settings import get_settings

    settings = get_settings()
    configure_logging(settings)
    feeds = _load(registry)
    if replay is not None:
        _replay(replay, feeds, settings.producer_replay_rate if rate is None else rate, present)
        return
    console = out()
    try:
        if not once:
            enabled = sum(1 for f in feeds if f.enabled)
            console.print(f"Polling {enabled} feeds; progress is logged every minute.")
            asyncio.run(run_forever(settings, feeds))
            return
        polled = asyncio.run(run_once(settings, feeds))
    except SpoolNotDrainedError as exc:
        err().print(f"[bold red]error:[/] {plain(exc)}")
        raise typer.Exit(EXIT_SPOOLED) from exc
    outcomes = polled.outcomes
    console.print(_summary(outcomes))
    done = sum(1 for o in outcomes if o.state in ("ok", "not_modified"))
    console.print(f"{done} of {len(outcomes)} feeds polled successfully.")
    if polled.dead_lettered:
        _say_dead_lettered(polled.dead_lettered, settings)
        raise typer.Exit(EXIT_REFUSED)
    if outcomes and done == 0:  # nothing at all could be done: let cron/CI notice
        raise typer.Exit(1)


def _replay(path: Path, feeds: list[FeedSpec], rate: float, present: bool = False) -> None:
    import asyncio

    from rich.progress import Progress

    from producers import metrics
    from producers.replay import ReplayError
    from producers.runner import run_replay
    from rasad.core.settings import get_settings

    settings = get_settings()
    console = out()
    if not path.exists():
        console.print(f"[red]{plain(path)}: no such file or folder[/red]")
        raise typer.Exit(EXIT_BAD_INPUT)
    # The same /metrics page as the polling producer: articles read, published, duplicate.
    metrics.serve(settings.producer_metrics_port)
    with Progress(console=console, transient=False) as progress:
        task = progress.add_task(f"replaying {path.name}", total=None)

        def on_batch(t: ReplayTotals) -> None:
            progress.update(
                task,
                completed=t.articles,
                description=f"replaying {path.name}: {t.new} new, {t.duplicate} dup",
            )

        try:
            totals = asyncio.run(run_replay(settings, path, feeds, rate, on_batch, present))
        except ReplayError as exc:
            console.print(f"[red]{plain(exc)}[/red]")
            raise typer.Exit(EXIT_BAD_INPUT) from exc
    _replay_summary(totals)
    raise typer.Exit(_replay_exit(totals, settings))


def _replay_summary(totals: ReplayTotals) -> None:
    speed = totals.articles / totals.seconds if totals.seconds else 0.0
    spooled = (
        f"{totals.spool_left} still spooled"
        if totals.spool_left
        else f"{totals.spooled} spooled on the way, all published since"
    )
    out().print(
        f"{totals.articles} articles in {totals.seconds:.1f} s ({speed:.0f}/s): "
        f"{totals.new} new, {totals.updated} updated, {totals.duplicate} duplicate; "
        f"{spooled}; {totals.refused.count} refused"
        + (f"; {_dead_lettered(totals.dead_lettered)}" if totals.dead_lettered else "")
        + ("; stopped before the end of the input" if totals.stopped else "")
        + ("; the input ends in damage" if totals.unreadable else "")
    )
    for reason in totals.refused.reasons:
        err().print(f"refused: {reason}", style="yellow", markup=False, highlight=False)
    if totals.refused.count > len(totals.refused.reasons):
        err().print(f"… and {totals.refused.count - len(totals.refused.reasons)} more refused")


def _dead_lettered(dead: Counter[str]) -> str:
    """ "N dead-lettered: reason (n), ..." for the articles the broker refused for good."""
    reasons = ", ".join(f"{why} ({n})" for why, n in dead.most_common())
    return f"{dead.total()} dead-lettered: {reasons}"


def _say_dead_lettered(dead: Counter[str], settings: Settings) -> None:
    err().print(
        f"error: {_dead_lettered(dead)}; they are in the dead-letter topic "
        f"{settings.dead_letter_topic(settings.topic_raw)}",
        style="red",
        markup=False,
        highlight=False,
    )


def _replay_exit(totals: ReplayTotals, settings: Settings) -> int:
    """Say what went wrong, worst first, and return the exit code for it (0 if nothing did)."""
    from producers.runner import SpoolNotDrainedError, spool_path

    if totals.spool_left:
        timeout = settings.producer_drain_timeout_s
        left = SpoolNotDrainedError(totals.spool_left, spool_path(settings), timeout)
        err().print(f"[bold red]error:[/] {plain(left)}")
    if totals.unreadable:
        err().print(f"error: {totals.unreadable}", style="red", markup=False, highlight=False)
    if totals.refused.count:
        err().print(
            f"error: {totals.refused.count} records refused (named above); the rest were published",
            style="red",
        )
    if totals.dead_lettered:
        _say_dead_lettered(totals.dead_lettered, settings)
    if totals.spool_left:
        return EXIT_SPOOLED
    if totals.unreadable:
        return EXIT_BAD_INPUT
    return EXIT_REFUSED if totals.refused.count or totals.dead_lettered else 0


def register(app: typer.Typer) -> None:
    app.command("produce")(produce)
