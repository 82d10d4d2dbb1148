"""The notifier's ledger: one idempotency record per hit in the alert-hits index, and the
per-alert throttle that reads it (see :mod:`indexers.alerts.notify` for why the index)."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from indexers.alerts.store import Alert
from rasad.core import backoff
from rasad.core.engine.client import Engine, EngineRejected, EngineUnavailable
from rasad.core.logs import get_logger
from rasad.core.settings import Settings

log = get_logger(__name__)

# Records in these states need no more work from the hit path.
FINAL = frozenset({"delivered", "dead_lettered", "queued", "digested", "suppressed", "recorded"})


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class Ledger:
    """Idempotency records in the alert-hits index (see the module docstring)."""

    def __init__(self, engine: Engine, settings: Settings, worker: str) -> None:
        self._engine = engine
        self._index = settings.alert_hits_index
        self._worker = worker
        self._backoff_s = (settings.alert_backoff_initial_s, settings.alert_backoff_max_s)

    def _path(self, op: str, key: str) -> str:
        return f"/{self._index}/{op}/{quote(key, safe='')}"

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One ledger request, retried while the engine is unreachable: a record must never be
        skipped (a skipped claim could mean a duplicate, a skipped finish a re-delivery)."""
        waits = backoff.delays(*self._backoff_s)
        while True:
            try:
                return await self._engine.request(method, path, **kwargs)
            except EngineUnavailable as exc:
                delay = next(waits)
                log.warning("ledger unavailable, retrying", error=str(exc), retry_in_s=delay)
                await asyncio.sleep(delay)

    async def claim(self, key: str, record: dict[str, Any]) -> bool:
        """True if this worker now owns the delivery of ``key``."""
        now = iso(datetime.now(UTC))
        try:
            await self._request(
                "PUT",
                self._path("_create", key),
                body={**record, "key": key, "status": "pending", "attempts": 0,
                      "worker": self._worker, "claimed_at": now},
            )  # fmt: skip
            return True
        except EngineRejected as exc:
            if exc.status != 409:
                raise
        found = await self._request("GET", self._path("_doc", key))
        if found["_source"].get("status") in FINAL:
            return False
        try:
            await self._request(
                "POST",
                self._path("_update", key),
                params={"if_seq_no": found["_seq_no"], "if_primary_term": found["_primary_term"]},
                body={"doc": {"worker": self._worker, "claimed_at": now}},
            )
        except EngineRejected as exc:
            if exc.status == 409:
                return False
            raise
        log.info("took over an unfinished delivery", key=key)
        return True

    async def status(self, key: str) -> str | None:
        try:
            found = await self._request("GET", self._path("_doc", key))
        except EngineRejected as exc:
            if exc.status == 404:
                return None
            raise
        return str(found["_source"].get("status"))

    async def finish(self, key: str, **fields: Any) -> None:
        await self._request("POST", self._path("_update", key), body={"doc": fields})

    async def delivered_since(self, alert_id: str, since: datetime) -> int:
        return await self._engine.count(
            self._index,
            {"query": {"bool": {"filter": [
                {"term": {"alert_id": alert_id}}, {"term": {"kind": "hit"}},
                {"term": {"status": "delivered"}},
                {"range": {"delivered_at": {"gte": iso(since)}}},
            ]}}},
        )  # fmt: skip


class Throttle:
    """N notifications per alert per fixed window; counts resume from the ledger after a
    restart. One alert's hits reach one worker, so in-memory counts are authoritative."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._counts: dict[str, tuple[float, int]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def admit(self, alert: Alert, settings: Settings, now: datetime) -> tuple[bool, datetime]:
        """(send now?, end of the current window)."""
        limit, window = alert.throttle(settings)
        start = math.floor(now.timestamp() / window) * window
        end = datetime.fromtimestamp(start + window, UTC)
        async with self._locks.setdefault(alert.id, asyncio.Lock()):
            seen = self._counts.get(alert.id)
            if seen is None or seen[0] != start:
                begun = datetime.fromtimestamp(start, UTC)
                seen = (start, await self._ledger.delivered_since(alert.id, begun))
            admitted = seen[1] < limit
            self._counts[alert.id] = (start, seen[1] + (1 if admitted else 0))
        return admitted, end
