"""`rasad config`: the effective settings (secrets masked), or the README's settings table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rasad.core.settings import Settings


def _default_text(settings_cls: type[Settings], name: str) -> str:
    field = settings_cls.model_fields[name]
    if field.default_factory is not None:
        return "(computed)"
    default = field.default
    return "—" if default is None else str(default)


def settings_markdown_table() -> str:
    """A Markdown table of every setting: env var, default and the reason for it."""
    from rasad.core.settings import ENV_PREFIX, Settings

    rows = ["| env var | default | what it is for |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = _default_text(Settings, name).replace("|", "\\|")
        reason = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{ENV_PREFIX}{name.upper()}` | `{default}` | {reason} |")
    return "\n".join(rows) + "\n"


def config(
    markdown: Annotated[bool, typer.Option(help="Print the README settings table.")] = False,
) -> None:
    """Show the effective settings (env, YAML file, defaults); secrets are masked."""
    from pydantic import SecretStr

    from rasad.core.settings import ENV_PREFIX, get_settings

    if markdown:
        typer.echo(settings_markdown_table(), nl=False)
        return
    for name, value in get_settings().model_dump().items():
        shown = "********" if isinstance(value, SecretStr) else value
        typer.echo(f"{ENV_PREFIX}{name.upper()}={shown}")


def register(app: typer.Typer) -> None:
    app.command("config")(config)
