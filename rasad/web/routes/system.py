"""Health, metrics, who-am-I, the live stream (SSE), feed health and API-key management."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field, field_validator

from rasad.core.engine.client import Engine, EngineError
from rasad.core.kafka import client_config
from rasad.core.settings import Settings
from rasad.web import feeds
from rasad.web.auth import MAX_NAME_CHARS, ApiKeyError, Role
from rasad.web.deps import Admin, Reader, ServicesDep
from rasad.web.live import LiveEvent, TooManyClients
from rasad.web.problems import CONFLICT, NOT_FOUND

router = APIRouter()

# A health probe must answer fast: a dependency silent this long counts as down.
HEALTH_TIMEOUT_S = 5.0


async def _kafka_ok(settings: Settings) -> tuple[bool, str]:
    admin = AIOKafkaAdminClient(
        client_id="rasad-web-health", request_timeout_ms=4000, **client_config(settings)
    )
    try:
        await asyncio.wait_for(admin.start(), HEALTH_TIMEOUT_S)
        cluster = await asyncio.wait_for(admin.describe_cluster(), HEALTH_TIMEOUT_S)
        return True, f"{len(cluster.get('brokers', []))} broker(s)"
    except (KafkaError, TimeoutError, OSError) as exc:
        return False, f"unreachable: {exc or type(exc).__name__}"
    finally:
        with contextlib.suppress(KafkaError, OSError):
            await admin.close()


async def _engine_ok(svc: Any) -> tuple[bool, str]:
    try:
        engine: Engine = await asyncio.wait_for(svc.engine.get(), HEALTH_TIMEOUT_S)
        health = await asyncio.wait_for(engine.health(), HEALTH_TIMEOUT_S)
    except (EngineError, TimeoutError) as exc:
        return False, f"unreachable: {exc or type(exc).__name__}"
    color = str(health.get("status", "unknown"))
    return color in ("green", "yellow"), f"{engine.info.kind} {engine.info.version}, {color}"


@router.get(
    "/healthz",
    tags=["system"],
    summary="Kafka and the search engine are reachable",
    responses={
        503: {
            "description": "Kafka or the engine is down; the body says which.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def healthz(svc: ServicesDep) -> JSONResponse:
    (kafka_ok, kafka_detail), (engine_ok, engine_detail) = await asyncio.gather(
        _kafka_ok(svc.settings), _engine_ok(svc)
    )
    body = {
        "status": "ok" if kafka_ok and engine_ok else "unavailable",
        "kafka": {"ok": kafka_ok, "detail": kafka_detail},
        "engine": {"ok": engine_ok, "detail": engine_detail},
    }
    code = status.HTTP_200_OK if kafka_ok and engine_ok else status.HTTP_503_SERVICE_UNAVAILABLE
    return JSONResponse(body, status_code=code)


@router.get(
    "/metrics",
    tags=["system"],
    summary="Prometheus metrics of this server process (text exposition format)",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format 0.0.4.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def metrics(svc: ServicesDep) -> Response:
    feeds.count_silent_outlets(svc.settings)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/whoami", tags=["system"], summary="Auth mode and, when authenticated, role")
def whoami(svc: ServicesDep, request: Request) -> dict[str, Any]:
    info: dict[str, Any] = {"auth": svc.settings.web_auth}
    if svc.settings.web_auth == "local":
        return {**info, "name": "local", "role": "admin"}
    key = request.headers.get("x-api-key")
    found = svc.keys.verify(key) if key else None
    return {**info, "name": found.name if found else None, "role": found.role if found else None}


def _sse(event: LiveEvent) -> bytes:
    return b"event: " + event.type.encode() + b"\ndata: " + orjson.dumps(event.data) + b"\n\n"


@router.get(
    "/api/live",
    tags=["live"],
    summary="Server-Sent Events: new articles, alert hits",
    response_class=StreamingResponse,
)
async def live(svc: ServicesDep, _: Reader, request: Request) -> StreamingResponse:
    try:
        subscription = svc.live.subscribe()
        queue = await subscription.__aenter__()
    except TooManyClients as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield b": connected\n\n"
            yield _sse(LiveEvent("hello", {"kafka": svc.live.connected.is_set()}))
            while not await request.is_disconnected():
                try:
                    event = await asyncio.wait_for(queue.get(), svc.settings.web_sse_keepalive_s)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                yield _sse(event)
        finally:
            await subscription.__aexit__(None, None, None)

    # no-transform + X-Accel-Buffering: proxies must pass events through, not buffer them.
    headers = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@router.get("/api/feeds/health", tags=["feeds"], summary="Each feed's polling health")
async def feed_health(svc: ServicesDep, _: Reader) -> dict[str, Any]:
    return {"feeds": await asyncio.to_thread(feeds.feed_health, svc.settings)}


class NewKey(BaseModel):
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    role: Role

    @field_validator("name")
    @classmethod
    def _label(cls, value: str) -> str:
        # The key store's own rule, checked here so a bad name is a 422 like any bad field.
        if not value.strip() or not value.isprintable():
            raise ValueError("a key name is printable characters, not only spaces")
        return value


@router.get("/api/keys", tags=["keys"], summary="API keys (never the keys themselves)")
def list_keys(svc: ServicesDep, _: Admin) -> dict[str, Any]:
    return {"keys": [k.model_dump(mode="json", exclude={"sha256"}) for k in svc.keys.list()]}


@router.post(
    "/api/keys",
    tags=["keys"],
    status_code=201,
    summary="Make a key; shown once",
    responses=CONFLICT,
)
def add_key(body: NewKey, svc: ServicesDep, _: Admin) -> dict[str, Any]:
    try:
        record, secret = svc.keys.add(body.name, body.role)
    except ApiKeyError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return {**record.model_dump(mode="json", exclude={"sha256"}), "key": secret}


@router.delete("/api/keys/{key_id}", tags=["keys"], status_code=204, responses=NOT_FOUND)
def remove_key(key_id: str, svc: ServicesDep, _: Admin) -> Response:
    try:
        svc.keys.remove(key_id)
    except ApiKeyError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return Response(status_code=204)
