"""Run one engine operation for a command: connect, run, close, and turn the adapter's named
errors into one clear line and an exit code (1: something is down or missing, 2: the user's
input was refused)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console

from rasad.cli.console import plain
from rasad.core.engine.client import Engine, EngineRejected, EngineUnavailable
from rasad.core.settings import Settings, get_settings

T = TypeVar("T")
err = Console(stderr=True, soft_wrap=True)


def run_with_engine(
    work: Callable[[Engine, Settings], Awaitable[T]],
    refused: tuple[type[Exception], ...],
    refused_label: str = "refused",
    missing: tuple[type[Exception], ...] = (),
) -> T:
    settings = get_settings()

    async def go() -> T:
        async with await Engine.connect(settings) as engine:
            return await work(engine, settings)

    try:
        return asyncio.run(go())
    except missing as exc:
        err.print(f"[bold red]error:[/] {plain(exc)}")
        raise typer.Exit(code=1) from None
    except refused as exc:
        err.print(f"[bold red]{refused_label}:[/] {plain(exc)}")
        raise typer.Exit(code=2) from None
    except EngineUnavailable as exc:
        err.print(
            f"[bold red]error:[/] the search engine at {settings.engine_url} is not answering "
            f"({plain(exc)}); is it running? (`rasad stack up`)"
        )
        raise typer.Exit(code=1) from None
    except EngineRejected as exc:
        hint = " (run `rasad setup`)" if exc.status == 404 else ""
        err.print(f"[bold red]error:[/] the engine refused the request: {plain(exc)}{hint}")
        raise typer.Exit(code=1) from None
