"""`rasad serve` (the HTTP API and web app) and `rasad apikey add|list|rm`.

The web app, uvicorn and rich are imported when a command runs, not when the CLI starts."""

from __future__ import annotations

from typing import Annotated

import typer

from rasad.cli.console import err, fail, out


def serve() -> None:
    """Serve the HTTP API and the web app on RASAD_WEB_HOST:RASAD_WEB_PORT."""
    import uvicorn

    from rasad.core.logs import configure_logging
    from rasad.core.settings import get_settings
    from rasad.web.app import UnsafeBindError, create_app
    from rasad.web.server import server_config

    settings = get_settings()
    configure_logging(settings)
    try:
        web = create_app(settings)
    except UnsafeBindError as exc:
        raise fail(str(exc)) from None
    uvicorn.Server(server_config(web, settings)).run()


def add_key(
    name: Annotated[str, typer.Argument(help="Who or what will use the key.")],
    role: Annotated[str, typer.Option(help="reader, editor (manages alerts) or admin")] = "reader",
) -> None:
    """Make a key and print it once; only its hash is stored."""
    from rasad.core.settings import get_settings
    from rasad.web.auth import ROLES, ApiKeyError, ApiKeyStore, keys_path

    if role not in ROLES:
        raise fail(f"role must be one of {', '.join(ROLES)}")
    try:
        record, secret = ApiKeyStore(keys_path(get_settings())).add(name, role)
    except ApiKeyError as exc:
        raise fail(str(exc)) from None
    err().print(f"key {record.id} for {record.name} ({record.role}); it is shown only now:")
    typer.echo(secret)


def list_keys() -> None:
    """The keys (id, name, role, created), never the keys themselves."""
    from rich.table import Table

    from rasad.core.settings import get_settings
    from rasad.web.auth import ApiKeyError, ApiKeyStore, keys_path

    try:
        found = ApiKeyStore(keys_path(get_settings())).list()
    except ApiKeyError as exc:
        raise fail(str(exc)) from None
    table = Table("id", "name", "role", "created")
    for k in found:
        table.add_row(k.id, k.name, k.role, k.created_at.isoformat(timespec="seconds"))
    out().print(table)


def remove_key(id_or_name: Annotated[str, typer.Argument(help="The key's id or name.")]) -> None:
    """Revoke a key at once (a running server re-reads the key file on its next request)."""
    from rasad.core.settings import get_settings
    from rasad.web.auth import ApiKeyError, ApiKeyStore, keys_path

    try:
        gone = ApiKeyStore(keys_path(get_settings())).remove(id_or_name)
    except ApiKeyError as exc:
        raise fail(str(exc)) from None
    err().print(f"removed key {gone.id} ({gone.name})")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    keys = typer.Typer(help="API keys of the web app (stored hashed; shown once when made).")
    app.add_typer(keys, name="apikey")
    keys.command("add")(add_key)
    keys.command("list")(list_keys)
    keys.command("rm")(remove_key)
