"""Snapshots of Rasad's indices (articles, alerts, alert hits) through the engine's snapshot API,
to a shared-filesystem repository (``engine_snapshot_path``, registered as ``fs``).

The engine itself writes the files, so the path must be one it can reach and that its config
allows (OpenSearch/Elasticsearch ``path.repo``; the local stack sets it). Index templates and
other cluster-wide state are not included: `rasad setup` recreates them, and a restore into a
cluster with other tenants must not overwrite theirs.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rasad.core.engine.client import Engine
from rasad.core.engine.errors import EngineError, EngineRejected
from rasad.core.settings import Settings

# Polls of a running snapshot or restore: each is one cheap GET.
POLL_S = 1.0


class SnapshotError(EngineError):
    """A snapshot or restore the engine refused or that did not finish (reason included)."""


@dataclass(frozen=True)
class SnapshotInfo:
    name: str
    state: str
    started: datetime | None
    indices: list[str]
    shards_ok: int
    shards_total: int


def repository_path(settings: Settings) -> str:
    return str((settings.data_dir / settings.engine_snapshot_path).resolve())


def index_patterns(settings: Settings) -> list[str]:
    """Every index Rasad writes: the yearly article indices, alerts and alert hits."""
    p = settings.index_prefix
    return [f"{p}-articles-*", settings.alerts_index, settings.alert_hits_index]


async def ensure_repository(engine: Engine, settings: Settings) -> None:
    """Register the filesystem repository (idempotent); explains a path the engine refuses."""
    name, path = settings.engine_snapshot_repository, repository_path(settings)
    try:
        await engine.request(
            "PUT", f"/_snapshot/{name}", body={"type": "fs", "settings": {"location": path}}
        )
    except EngineRejected as exc:
        raise SnapshotError(
            f"the engine refused the snapshot repository {path}: {exc}. It must be listed in "
            "the engine's path.repo (the local stack sets it: restart it with `rasad stack "
            "down && rasad stack up` if it was started before), or set "
            "RASAD_ENGINE_SNAPSHOT_PATH to a listed directory."
        ) from exc


def _info(raw: dict[str, Any]) -> SnapshotInfo:
    started = raw.get("start_time_in_millis")
    shards = raw.get("shards") or {}
    return SnapshotInfo(
        name=str(raw["snapshot"]),
        state=str(raw.get("state", "UNKNOWN")),
        started=datetime.fromtimestamp(started / 1000, UTC) if started else None,
        indices=sorted(raw.get("indices") or []),
        shards_ok=int(shards.get("successful", 0)),
        shards_total=int(shards.get("total", 0)),
    )


async def list_snapshots(engine: Engine, settings: Settings) -> list[SnapshotInfo]:
    await ensure_repository(engine, settings)
    raw = await engine.request("GET", f"/_snapshot/{settings.engine_snapshot_repository}/_all")
    return sorted((_info(s) for s in raw.get("snapshots", [])), key=lambda s: s.name)


async def create_snapshot(
    engine: Engine, settings: Settings, name: str | None = None, timeout_s: float = 3600.0
) -> SnapshotInfo:
    """Snapshot Rasad's indices and wait until the engine has written it (or failed)."""
    await ensure_repository(engine, settings)
    name = name or datetime.now(UTC).strftime(f"{settings.index_prefix}-%Y%m%d-%H%M%S")
    repo = settings.engine_snapshot_repository
    body = {
        "indices": ",".join(index_patterns(settings)),
        "ignore_unavailable": True,
        "include_global_state": False,
    }
    await engine.request("PUT", f"/_snapshot/{repo}/{name}", body=body)
    deadline = time.monotonic() + timeout_s
    while True:  # the engine's own wait_for_completion would outlast the HTTP timeout
        [raw] = (await engine.request("GET", f"/_snapshot/{repo}/{name}"))["snapshots"]
        info = _info(raw)
        if info.state not in ("IN_PROGRESS", "STARTED", "INIT"):
            break
        if time.monotonic() > deadline:
            raise SnapshotError(f"snapshot {name} still {info.state} after {timeout_s:.0f} s")
        await asyncio.sleep(POLL_S)
    if info.state != "SUCCESS":
        raise SnapshotError(f"snapshot {name} ended {info.state}: {raw.get('failures') or ''}")
    return info


async def restore_snapshot(
    engine: Engine, settings: Settings, name: str, timeout_s: float = 3600.0
) -> SnapshotInfo:
    """Restore a snapshot's indices (with their aliases) and wait until they are searchable.
    Indices of the same names must not exist: restore into an empty cluster, or delete them."""
    await ensure_repository(engine, settings)
    repo = settings.engine_snapshot_repository
    found = (await engine.request("GET", f"/_snapshot/{repo}/{name}"))["snapshots"]
    info = _info(found[0])
    existing = [i for i in info.indices if await engine.cat_indices(i)]
    if existing:
        raise SnapshotError(
            f"these indices exist already: {', '.join(existing)}; restore into an empty "
            "cluster, or delete them first"
        )
    await engine.request(
        "POST",
        f"/_snapshot/{repo}/{name}/_restore",
        body={"indices": ",".join(info.indices), "include_global_state": False},
    )
    deadline = time.monotonic() + timeout_s
    path = f"/_cluster/health/{','.join(info.indices)}"
    # Yellow: every primary is back; on a cluster with replicas they follow in the background.
    while (
        await engine.request("GET", path, params={"wait_for_status": "yellow", "timeout": "10s"})
    )["timed_out"]:
        if time.monotonic() > deadline:
            raise SnapshotError(f"restore of {name} not done after {timeout_s:.0f} s")
    return info
