"""The commands' consoles, made on first use: importing rich costs start-up time that `--help`
and most successful runs never need."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console


@cache
def err() -> Console:
    """Standard error. Errors stay on one line whatever the terminal width, so logs and grep
    see whole messages."""
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


@cache
def out() -> Console:
    """Standard output (tables, summaries)."""
    from rich.console import Console

    return Console()


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; the caller raises the returned exit (code 1)."""
    err().print(f"[bold red]error:[/] {plain(message)}")
    return typer.Exit(code=1)


def plain(text: object) -> str:
    """Text shown as it is inside a markup string: a path, an error or a name with ``[/x]`` in
    it is not rich markup (it made rich raise MarkupError instead of printing the error)."""
    from rich.markup import escape

    return escape(str(text))
