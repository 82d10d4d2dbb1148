"""`rasad snapshot create|list|restore`: back up and restore Rasad's indices (articles, alerts,
alert hits) through the engine's snapshot API, to the repository in RASAD_ENGINE_SNAPSHOT_PATH.

The engine client and rich are imported when a command runs, not when the CLI starts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from rasad.cli.console import out

if TYPE_CHECKING:
    from rasad.core.engine.snapshots import SnapshotInfo

TimeoutOption = Annotated[
    float, typer.Option(help="Give up waiting for the engine after this many seconds.")
]


def _describe(info: SnapshotInfo) -> str:
    when = info.started.strftime("%Y-%m-%d %H:%M:%S UTC") if info.started else "-"
    return (
        f"{info.name}  {info.state}  {when}  {len(info.indices)} indices  "
        f"{info.shards_ok}/{info.shards_total} shards"
    )


def create(
    name: Annotated[
        str | None, typer.Argument(help="Snapshot name (default: <prefix>-YYYYmmdd-HHMMSS).")
    ] = None,
    timeout: TimeoutOption = 3600.0,
) -> None:
    """Snapshot the articles, alerts and alert-hits indices; waits until it is written."""
    from rasad.cli.engine_run import run_with_engine
    from rasad.core.engine.snapshots import SnapshotError, create_snapshot

    info = run_with_engine(
        lambda engine, settings: create_snapshot(engine, settings, name, timeout),
        refused=(SnapshotError,),
        refused_label="snapshot failed",
    )
    out().print(_describe(info), highlight=False)
    out().print("  " + ", ".join(info.indices), highlight=False)


def list_() -> None:
    """The snapshots in the repository, oldest first."""
    from rasad.cli.engine_run import run_with_engine
    from rasad.core.engine.snapshots import SnapshotError, list_snapshots

    found = run_with_engine(list_snapshots, refused=(SnapshotError,))
    for info in found:
        out().print(_describe(info), highlight=False)
    if not found:
        out().print("no snapshots yet (`rasad snapshot create`)")


def restore(
    name: Annotated[str, typer.Argument(help="Snapshot to restore (see `rasad snapshot list`).")],
    timeout: TimeoutOption = 3600.0,
) -> None:
    """Restore a snapshot's indices and aliases into a cluster that does not have them."""
    from rasad.cli.engine_run import run_with_engine
    from rasad.core.engine.snapshots import SnapshotError, restore_snapshot

    info = run_with_engine(
        lambda engine, settings: restore_snapshot(engine, settings, name, timeout),
        refused=(SnapshotError,),
        refused_label="restore failed",
    )
    out().print(f"restored {info.name}: {', '.join(info.indices)}", highlight=False)


def register(app: typer.Typer) -> None:
    snapshots = typer.Typer(help="Back up and restore the indices (engine snapshots).")
    app.add_typer(snapshots, name="snapshot")
    snapshots.command("create")(create)
    snapshots.command("list")(list_)
    snapshots.command("restore")(restore)
