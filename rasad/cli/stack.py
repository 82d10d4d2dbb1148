"""`rasad stack up|down|status|logs` and `rasad setup`.

The stack control, Kafka, the engine client and rich are imported when a command runs, not
when the CLI starts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from rasad.cli.console import err, fail, out

if TYPE_CHECKING:
    from rasad.stack.control import ServiceStatus


def _print_statuses(statuses: list[ServiceStatus]) -> None:
    console = out()
    for s in statuses:
        state = "healthy" if s.healthy else ("running, not healthy" if s.running else "stopped")
        colour = "green" if s.healthy else "red"
        console.print(f"[bold]{s.name}[/] [{colour}]{state}[/] at {s.address} (pid {s.pid or '-'})")
        console.print(f"  {s.detail}", highlight=False)
        console.print(f"  data: {s.data_path}\n  log:  {s.log_path}", highlight=False)


def up(
    kafka_brokers: Annotated[
        int | None,
        typer.Option(
            min=1, max=9, help="Kafka nodes (KRaft broker+controller each); 3: a cluster."
        ),
    ] = None,
    engine_nodes: Annotated[
        int | None, typer.Option(min=1, max=9, help="OpenSearch nodes; 2: replicas.")
    ] = None,
) -> None:
    """Provision (cached) and start Kafka and OpenSearch; wait until all are healthy."""
    from rasad.core.settings import get_settings
    from rasad.stack import control as local_stack

    settings = get_settings()
    counts = {"stack_kafka_brokers": kafka_brokers, "stack_engine_nodes": engine_nodes}
    settings = settings.model_copy(update={k: v for k, v in counts.items() if v is not None})
    try:
        statuses = local_stack.up(settings, progress=err().print)
    except local_stack.StackError as exc:
        raise fail(str(exc)) from None
    _print_statuses(statuses)


def down(
    reset: Annotated[bool, typer.Option(help="Also delete the servers' data.")] = False,
) -> None:
    """Stop both servers (SIGTERM, then SIGKILL after a grace period); data is kept."""
    from rasad.core.settings import get_settings
    from rasad.stack import control as local_stack

    try:
        local_stack.down(get_settings(), reset=reset, progress=err().print)
    except local_stack.StackError as exc:
        raise fail(str(exc)) from None


def status(
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON list: every server, pid, ports, role, health.")
    ] = False,
) -> None:
    """Show each server's state; exit 1 unless all are healthy."""
    import json

    from rasad.core.settings import get_settings
    from rasad.stack import control as local_stack

    statuses = local_stack.status(get_settings())
    if as_json:
        typer.echo(json.dumps([s.to_json() for s in statuses], indent=2))
    else:
        _print_statuses(statuses)
    if not all(s.healthy for s in statuses):
        raise typer.Exit(code=1)


def logs(
    service: Annotated[
        str | None, typer.Argument(help="kafka, opensearch, or a cluster node: kafka-2, ...")
    ] = None,
    lines: Annotated[int, typer.Option("--lines", "-n")] = 50,
) -> None:
    """Print the tail of the servers' logs."""
    from rasad.core.settings import get_settings
    from rasad.stack import control as local_stack

    try:
        typer.echo(local_stack.logs(get_settings(), service=service, lines=lines))
    except local_stack.StackError as exc:
        raise fail(str(exc)) from None


def setup() -> None:
    """Create Kafka topics and engine templates/aliases. Idempotent: run it on every start."""
    import asyncio

    from kafka.errors import KafkaError

    from indexers.alerts.store import ensure_alert_indices
    from indexers.index.templates import ensure_index_setup
    from rasad.core.engine.client import EngineError, open_engine
    from rasad.core.settings import get_settings
    from rasad.core.topics import TopicMismatchError, ensure_topics

    settings = get_settings()
    try:
        created = ensure_topics(settings)
    except TopicMismatchError as exc:
        raise fail(str(exc)) from None
    except KafkaError as exc:
        raise fail(
            f"Kafka at {settings.kafka_bootstrap_servers} did not answer ({exc}); "
            "start it with `rasad stack up` or set RASAD_KAFKA_BOOTSTRAP_SERVERS"
        ) from None
    err().print(f"topics: {', '.join(created) or 'all present'}")

    async def indices() -> list[str]:
        async with open_engine(settings) as engine:
            articles = await ensure_index_setup(engine, settings)
            return articles + await ensure_alert_indices(engine, settings)

    try:
        done = asyncio.run(indices())
    except EngineError as exc:
        raise fail(str(exc)) from None
    err().print(f"engine: {', '.join(done) or 'all present'}")


def register(app: typer.Typer) -> None:
    stack_app = typer.Typer(help="The local Kafka + OpenSearch stack (loopback only).")
    app.add_typer(stack_app, name="stack")
    stack_app.command("up")(up)
    stack_app.command("down")(down)
    stack_app.command("status")(status)
    stack_app.command("logs")(logs)
    app.command("setup")(setup)
