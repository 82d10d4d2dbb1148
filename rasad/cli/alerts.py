"""`rasad alerts add|list|show|rm|pause|resume|test`: keyword alerts from the command line.

Signing secrets are read from an environment variable (``--webhook-secret-env``), never from
the command line (shell history, process list), and are never printed.

The alert store, the engine client and rich are imported when a command runs, not when the CLI
starts.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from rasad.cli.console import err, out, plain

if TYPE_CHECKING:
    from rasad.core.engine.client import Engine
    from rasad.core.settings import Settings

T = TypeVar("T")
alerts_app = typer.Typer(
    help="Keyword alerts: matched as articles stream in.", no_args_is_help=True
)


def _run(work: Callable[[Engine, Settings], Awaitable[T]]) -> T:
    from indexers.alerts import store as alerts
    from rasad.cli.engine_run import run_with_engine
    from rasad.core.engine.client import QueryError

    return run_with_engine(
        work, (alerts.AlertError, QueryError), "refused", missing=(alerts.AlertNotFound,)
    )


def _print_json(value: Any) -> None:
    import orjson

    typer.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


def _seconds(value: str | None) -> float | None:
    """``30m``, ``1h``, ``1d`` -> seconds."""
    from indexers.search.query import parse_since
    from rasad.core.engine.client import QueryError

    if value is None:
        return None
    try:
        now = datetime.now(UTC)
        return (now - parse_since(value, now)).total_seconds()
    except QueryError as exc:
        raise typer.BadParameter(str(exc), param_hint="--throttle-window") from None


@alerts_app.command("add")
def add(
    name: Annotated[str, typer.Option(help="A name people recognise.")],
    query: Annotated[
        str, typer.Option(help='Same language as search: words, "phrases", AND/OR/NOT.')
    ] = "",
    topic: Annotated[list[str] | None, typer.Option(help="Topic tag (repeatable; any).")] = None,
    min_score: Annotated[float | None, typer.Option(help="Minimum topic tag score.")] = None,
    entity: Annotated[list[str] | None, typer.Option(help="Entity name or id (all).")] = None,
    source: Annotated[list[str] | None, typer.Option(help="Source id (repeatable; any).")] = None,
    country: Annotated[list[str] | None, typer.Option(help="Source country (any).")] = None,
    mode: Annotated[
        str, typer.Option(help="every (article) or cluster (once per story).")
    ] = "every",
    throttle: Annotated[int | None, typer.Option(help="Notifications per window.")] = None,
    throttle_window: Annotated[str | None, typer.Option(help="Window: 30m, 1h, 1d.")] = None,
    webhook: Annotated[str | None, typer.Option(help="http(s) URL to POST hits to.")] = None,
    webhook_secret_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the HMAC signing secret.")
    ] = None,
    email: Annotated[list[str] | None, typer.Option(help="Recipient (repeatable).")] = None,
    owner: Annotated[str, typer.Option(help="Who the alert belongs to.")] = "local",
    reprocess_digest: Annotated[
        bool, typer.Option(help="Also new hits a reprocess creates, in the digest.")
    ] = False,
) -> None:
    """Create an alert; a query that does not parse or a refused URL is rejected now."""
    from pydantic import SecretStr, ValidationError

    from indexers.alerts import store as alerts

    secret = None
    if webhook_secret_env:
        value = os.environ.get(webhook_secret_env)
        if not value:
            raise typer.BadParameter(
                f"environment variable {webhook_secret_env} is empty or unset",
                param_hint="--webhook-secret-env",
            )
        secret = SecretStr(value)
    try:
        spec = alerts.AlertSpec(
            name=name,
            owner=owner,
            query=query,
            topics=topic or [],
            min_topic_score=min_score,
            entities=entity or [],
            sources=source or [],
            countries=country or [],
            mode=mode,
            reprocess_digest=reprocess_digest,
            throttle_max=throttle,
            throttle_window_s=_seconds(throttle_window),
            webhook_url=webhook,
            webhook_secret=secret,
            email_to=email or [],
        )
    except ValidationError as exc:
        err().print(f"[bold red]refused:[/] {plain(exc)}")
        raise typer.Exit(code=2) from None
    created = _run(lambda engine, settings: alerts.create_alert(engine, settings, spec))
    _print_json(created.public())


@alerts_app.command("list")
def list_command(
    owner: Annotated[str | None, typer.Option(help="Only this owner's alerts.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every alert with its hit count (secrets are never shown)."""
    from rich.table import Table

    from indexers.alerts import history
    from indexers.alerts import store as alerts

    async def work(engine: Engine, settings: Settings) -> list[dict[str, Any]]:
        counts = await history.hit_counts(engine, settings)
        found = await alerts.list_alerts(engine, settings, owner)
        return [a.public(counts.get(a.id, 0)) for a in found]

    shown = _run(work)
    if as_json:
        _print_json(shown)
        return
    table = Table("id", "name", "query", "mode", "state", "channels", "hits")
    for a in shown:
        channels = ", ".join(
            c for c, on in (("webhook", a["webhook_url"]), ("email", a["email_to"])) if on
        )
        state = "on" if a["enabled"] else "paused"
        table.add_row(
            a["id"], a["name"], a["query"], a["mode"], state, channels or "-", str(a["hit_count"])
        )
    out().print(table)


@alerts_app.command("show")
def show(alert_id: str) -> None:
    """One alert as JSON (the signing secret shows only as webhook_signed)."""
    from indexers.alerts import history
    from indexers.alerts import store as alerts

    async def work(engine: Engine, settings: Settings) -> dict[str, Any]:
        alert = await alerts.get_alert(engine, settings, alert_id)
        return alert.public((await history.hit_counts(engine, settings)).get(alert_id, 0))

    _print_json(_run(work))


@alerts_app.command("rm")
def rm(alert_id: str) -> None:
    """Delete an alert (its hit history stays)."""
    from indexers.alerts import store as alerts

    _run(lambda engine, settings: alerts.delete_alert(engine, settings, alert_id))
    err().print(f"deleted alert {alert_id}")


@alerts_app.command("pause")
def pause(alert_id: str) -> None:
    """Stop matching an alert until it is resumed."""
    from indexers.alerts import store as alerts

    _run(lambda engine, settings: alerts.set_enabled(engine, settings, alert_id, False))
    err().print(f"paused alert {alert_id}")


@alerts_app.command("resume")
def resume(alert_id: str) -> None:
    """Match a paused alert again."""
    from indexers.alerts import store as alerts

    _run(lambda engine, settings: alerts.set_enabled(engine, settings, alert_id, True))
    err().print(f"resumed alert {alert_id}")


@alerts_app.command("test")
def test(
    alert_id: str,
    since: Annotated[str, typer.Option(help="How far back: 24h, 7d, 2w.")] = "7d",
    size: Annotated[int, typer.Option(help="Matches to list (1-100).")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Backtest: what the alert would have matched among stored articles."""
    from rich.table import Table

    from indexers.alerts import history
    from indexers.alerts import store as alerts
    from indexers.search.query import parse_since
    from rasad.core.engine.client import QueryError

    now = datetime.now(UTC)
    try:
        period = now - parse_since(since, now)
    except QueryError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from None

    async def work(engine: Engine, settings: Settings) -> tuple[int, list[dict[str, Any]]]:
        alert = await alerts.get_alert(engine, settings, alert_id)
        return await history.backtest(engine, settings, alert, period, size=size, now=now)

    total, hits = _run(work)
    if as_json:
        _print_json({"total": total, "hits": hits})
        return
    table = Table("published", "source", "title")
    for hit in hits:
        table.add_row(
            str(hit["published_at"])[:16], (hit["source"] or {}).get("id", ""), hit["title"]
        )
    console = out()
    console.print(table)
    console.print(f"{total} articles in the last {since} match this alert")


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
