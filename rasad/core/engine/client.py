"""The one thin adapter over the official async search clients (OpenSearch and Elasticsearch).

Everything above this module speaks plain dict bodies of the shared query DSL; the adapter sends
them with whichever client fits the cluster. The per-client differences live in two small
transport classes (:mod:`rasad.core.engine.transport`: how to build the client, how to send one
request, how to read its errors); :class:`Engine` implements every operation once on top of them.

Failures come out as three named errors, so callers can decide without reading strings:
:class:`EngineUnavailable` (retry later), :class:`EngineRejected` (the engine refused this
request or document: dead-letter it now) and :class:`QueryError` (an analyst's query is wrong:
tell them, never a 500). They are defined in :mod:`rasad.core.engine.errors` and exported here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from prometheus_client import Counter

from rasad.core import backoff
from rasad.core.engine.errors import (
    RETRYABLE_STATUSES,
    EngineError,
    EngineRejected,
    EngineUnavailable,
    QueryError,
    error_from_status,
)
from rasad.core.engine.transport import ElasticTransport, OpenSearchTransport, Transport
from rasad.core.logs import get_logger
from rasad.core.settings import Settings

log = get_logger(__name__)
CONNECT_FAILURES = Counter(
    "rasad_engine_connect_failures",
    "Attempts to connect to the search engine that found it unreachable (then retried).",
)

__all__ = [
    "RETRYABLE_STATUSES",
    "Engine",
    "EngineError",
    "EngineInfo",
    "EngineKind",
    "EngineRejected",
    "EngineUnavailable",
    "QueryError",
    "detect_kind",
    "error_from_status",
    "open_engine",
]

EngineKind = Literal["opensearch", "elasticsearch"]

# How often a long task (reindex) is polled; it runs for seconds to minutes.
TASK_POLL_S = 0.5


@dataclass(frozen=True)
class EngineInfo:
    kind: EngineKind
    version: str
    cluster_name: str

    @property
    def major(self) -> int:
        return int(self.version.split(".", 1)[0])


def detect_kind(root: dict[str, Any]) -> EngineKind:
    """Which product answered ``GET /``: OpenSearch names itself; Elasticsearch does not."""
    version = root.get("version") or {}
    if version.get("distribution") == "opensearch":
        return "opensearch"
    if "build_flavor" in version or root.get("tagline") == "You Know, for Search":
        return "elasticsearch"
    raise EngineRejected(200, "unknown_product", f"not OpenSearch or Elasticsearch: {root!r}")


def _body(value: Any) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return orjson.dumps(value)


class Engine:
    """A connected cluster. Build with :meth:`connect`; use as ``async with``."""

    def __init__(self, transport: Transport, info: EngineInfo) -> None:
        self._transport = transport
        self.info = info

    @classmethod
    async def connect(cls, settings: Settings) -> Engine:
        """Pick the client from ``settings.engine_kind`` or from the cluster's ``GET /``."""
        if settings.engine_kind == "elasticsearch":
            # Ask with 8-compatible headers first: both 8.x and 9.x servers accept them.
            probe: Transport = ElasticTransport(settings, server_major=8)
        else:
            probe = OpenSearchTransport(settings)
        try:
            root = await probe.send("GET", "/", None, None, False)
            kind = detect_kind(root) if settings.engine_kind == "auto" else settings.engine_kind
        except BaseException:
            await probe.close()
            raise
        info = EngineInfo(kind, str(root["version"]["number"]), str(root.get("cluster_name", "")))
        if kind == "elasticsearch" and (not isinstance(probe, ElasticTransport) or info.major != 8):
            await probe.close()
            probe = ElasticTransport(settings, server_major=info.major)
        return cls(probe, info)

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._transport.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        ndjson: bool = False,
    ) -> Any:
        """Send one request; the body is a dict (sent as JSON) or ready-made bytes."""
        return await self._transport.send(method, path, params, _body(body), ndjson)

    # --- Cluster -------------------------------------------------------------------------------
    async def health(self, wait_for_status: str | None = None) -> dict[str, Any]:
        # Wait less than the HTTP timeout so a slow cluster answers "timed_out" instead of failing.
        params = {"wait_for_status": wait_for_status, "timeout": "20s"} if wait_for_status else None
        result: dict[str, Any] = await self.request("GET", "/_cluster/health", params=params)
        return result

    # --- Templates, indices, aliases -----------------------------------------------------------
    async def put_index_template(self, name: str, body: dict[str, Any]) -> None:
        await self.request("PUT", f"/_index_template/{name}", body=body)

    async def get_index_template(self, name: str) -> dict[str, Any] | None:
        try:
            found = await self.request("GET", f"/_index_template/{name}")
        except EngineRejected as exc:
            if exc.status == 404:
                return None
            raise
        templates = found.get("index_templates") or []
        return dict(templates[0]["index_template"]) if templates else None

    async def delete_index_template(self, name: str) -> None:
        try:
            await self.request("DELETE", f"/_index_template/{name}")
        except EngineRejected as exc:
            if exc.status != 404:
                raise

    async def create_index(self, name: str, body: dict[str, Any] | None = None) -> bool:
        """Create an index; False if it already exists (creating is then a no-op)."""
        try:
            await self.request("PUT", f"/{name}", body=body or {})
        except EngineRejected as exc:
            if exc.error_type == "resource_already_exists_exception":
                return False
            raise
        return True

    async def delete_index(self, pattern: str) -> None:
        """Delete indices by name or pattern; deleting nothing is fine."""
        await self.request(
            "DELETE",
            f"/{pattern}",
            params={"ignore_unavailable": "true", "allow_no_indices": "true"},
        )

    async def get_alias(self, name: str) -> list[str]:
        """The indices behind an alias (empty if the alias does not exist)."""
        try:
            found = await self.request("GET", f"/_alias/{name}")
        except EngineRejected as exc:
            if exc.status == 404:
                return []
            raise
        return sorted(found)

    async def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        """Apply alias actions atomically (a reader never sees a half-moved alias)."""
        await self.request("POST", "/_aliases", body={"actions": actions})

    async def close_index(self, index: str) -> None:
        await self.request("POST", f"/{index}/_close", params={"wait_for_active_shards": "1"})

    async def open_index(self, index: str) -> None:
        await self.request("POST", f"/{index}/_open", params={"wait_for_active_shards": "1"})

    async def get_settings(self, index: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("GET", f"/{index}/_settings")
        return result

    async def put_settings(self, index: str, settings: dict[str, Any]) -> None:
        await self.request("PUT", f"/{index}/_settings", body=settings)

    async def put_mapping(self, index: str, mappings: dict[str, Any]) -> None:
        """Add fields to the mapping of existing indices (an engine refuses any other change)."""
        await self.request("PUT", f"/{index}/_mapping", body=mappings)

    async def refresh(self, index: str) -> None:
        await self.request("POST", f"/{index}/_refresh")

    async def cat_indices(self, index: str) -> list[dict[str, Any]]:
        """Per-index document counts and sizes (``_cat/indices`` rows)."""
        try:
            rows: list[dict[str, Any]] = await self.request(
                "GET", f"/_cat/indices/{index}", params={"format": "json", "bytes": "b"}
            )
        except EngineRejected as exc:
            if exc.status == 404:
                return []
            raise
        return rows

    # --- Documents -----------------------------------------------------------------------------
    async def bulk(
        self, payload: bytes | list[dict[str, Any]], refresh: bool = False
    ) -> dict[str, Any]:
        """Send a bulk request: ready-made NDJSON bytes, or a list of action/source dicts."""
        if not isinstance(payload, bytes):
            payload = b"".join(orjson.dumps(line) + b"\n" for line in payload)
        params = {"refresh": "true"} if refresh else None
        result: dict[str, Any] = await self.request(
            "POST", "/_bulk", params=params, body=payload, ndjson=True
        )
        return result

    async def reindex(self, body: dict[str, Any]) -> dict[str, Any]:
        """Run ``_reindex`` as a task and wait for it (a big reindex outlives any HTTP timeout)."""
        started = await self.request(
            "POST", "/_reindex", params={"wait_for_completion": "false"}, body=body
        )
        task = started["task"]
        while True:
            status = await self.request("GET", f"/_tasks/{task}")
            if status.get("completed"):
                if status.get("error"):
                    raise error_from_status(400, {"error": status["error"]})
                response: dict[str, Any] = status.get("response", {})
                if response.get("failures"):
                    raise EngineRejected(400, "reindex_failures", str(response["failures"][:3]))
                return response
            await asyncio.sleep(TASK_POLL_S)

    # --- Search --------------------------------------------------------------------------------
    async def search(
        self, index: str, body: dict[str, Any], params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run a search (or a percolation: a search with a ``percolate`` query)."""
        try:
            result: dict[str, Any] = await self.request(
                "POST", f"/{index}/_search", params=params, body=body
            )
        except EngineRejected as exc:
            if exc.status == 400:
                raise QueryError(f"the engine could not run this query: {exc.reason}") from exc
            raise
        return result

    async def count(self, index: str, body: dict[str, Any] | None = None) -> int:
        try:
            result = await self.request("POST", f"/{index}/_count", body=body or {})
        except EngineRejected as exc:
            if exc.status == 400:
                raise QueryError(f"the engine could not run this query: {exc.reason}") from exc
            raise
        return int(result["count"])


async def wait_for_engine(
    settings: Settings, initial_s: float, max_s: float, waiting: str
) -> Engine:
    """Connect, retrying with backoff for as long as the engine is unreachable.

    For agents and timers that must not crash on an outage: they wait, their messages stay
    unacked, and Kafka keeps the rest. ``waiting`` names who waits, for the log.
    """
    delays = backoff.delays(initial_s, max_s)
    while True:
        try:
            return await Engine.connect(settings)
        except EngineUnavailable as exc:
            delay = next(delays)
            CONNECT_FAILURES.inc()
            log.warning("engine unreachable", waiting=waiting, error=str(exc), retry_in_s=delay)
            await asyncio.sleep(delay)


@contextlib.asynccontextmanager
async def open_engine(settings: Settings) -> AsyncIterator[Engine]:
    """``async with open_engine(settings) as engine``: connect, and always close."""
    engine = await Engine.connect(settings)
    try:
        yield engine
    finally:
        await engine.close()
