"""The `rasad` command: one Typer app; each stage's commands live in a sibling module."""

from __future__ import annotations

import sys

import typer

from rasad.cli import (
    alerts,
    config,
    feeds,
    produce,
    reprocess,
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
feeds.register(app)
serve.register(app)
stream.register(app)
search.register(app)
alerts.register(app)
status.register(app)
snapshot.register(app)
reprocess.register(app)


def main() -> None:
    for position, arg in enumerate(sys.argv[1:], start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            # Python keeps undecodable argv bytes as lone surrogates; refuse them here, once.
            shown = arg.encode("utf-8", "backslashreplace").decode("ascii", "replace")[:80]
            sys.exit(f"error: argument {position} is not valid UTF-8: {shown}")
    try:
        app()
    except Exception as exc:
        message = _settings_error(exc)
        if message is None:
            raise
        sys.exit(f"error: {message}")


def _settings_error(exc: Exception) -> str | None:
    """One line for invalid settings (a mistyped RASAD_* value or config file), else None."""
    from pydantic import ValidationError

    from rasad.core.settings import ConfigFileError

    if isinstance(exc, ConfigFileError):
        return str(exc)
    if isinstance(exc, ValidationError) and exc.title == "Settings":
        problems = [
            f"RASAD_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors(include_url=False)
        ]
        return "invalid settings: " + "; ".join(problems)
    return None
