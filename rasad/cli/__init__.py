"""The `rasad` command: one Typer app; each stage's commands live in a sibling module."""

from __future__ import annotations

import typer

from rasad.cli import (
    alerts,
    config,
    produce,
    run,
    search,
    serve,
    snapshot,
    stack,
    status,
    stream,
)

app = typer.Typer(
    name="rasad",
    help="Rasad (رصد): streaming media monitoring for Arabic news.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config.register(app)
stack.register(app)
run.register(app)
produce.register(app)
serve.register(app)
stream.register(app)
search.register(app)
alerts.register(app)
status.register(app)
snapshot.register(app)


def main() -> None:
    app()
