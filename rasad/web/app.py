"""The FastAPI application: JSON API under /api, health and metrics, and the built web app.

:func:`create_app` is the only way in. It refuses an unsafe combination before anything
listens: auth off (``web_auth=local``) is allowed only on a loopback bind.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rasad.core.logs import get_logger
from rasad.core.settings import Settings
from rasad.web import problems
from rasad.web.auth import ApiKeyStore, keys_path
from rasad.web.deps import EngineHolder, Services
from rasad.web.guard import RequestGuard
from rasad.web.live import LiveHub
from rasad.web.routes import alerts, articles, entities, reprocess, stats, system

log = get_logger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"

REQUESTS = Counter("rasad_web_requests_total", "HTTP requests", ["route", "status"])
LATENCY = Histogram(
    "rasad_web_request_seconds",
    "HTTP request latency",
    ["route"],
    # Search answers in tens of ms; the tail up to a few seconds is where trouble shows.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0),
)


class UnsafeBindError(ValueError):
    """Auth is off (local mode) but the server would listen beyond loopback."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings) -> None:
    if settings.web_auth == "local" and not is_loopback(settings.web_host):
        raise UnsafeBindError(
            f"RASAD_WEB_HOST={settings.web_host} with RASAD_WEB_AUTH=local would serve without "
            "authentication beyond this machine; bind 127.0.0.1 or set RASAD_WEB_AUTH=apikey"
        )


# Feed text is rendered as text, and this forbids inline and foreign scripts besides.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
]


class ProblemCORS(CORSMiddleware):
    """Starlette's CORS, whose refused preflight is problem details like every other 400."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        kept = {
            name: value
            for name, value in response.headers.items()
            if name not in ("content-type", "content-length")
        }
        detail = bytes(response.body).decode()
        return problems.problem(response.status_code, detail, headers=kept)


class Measured:
    """Counts and times every HTTP request by route and adds the security headers.

    A plain ASGI middleware: Starlette's ``@app.middleware("http")`` runs each request in a task
    group and streams the response through memory channels, a fixed cost that showed in the
    server's CPU time per search.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            # The router stores the matched route in the scope it was given (this one); the
            # route template, not the URL: /api/articles/{article_id} is one label, not millions.
            route = str(getattr(scope.get("route"), "path", "unmatched"))
            LATENCY.labels(route).observe(time.perf_counter() - started)
            REQUESTS.labels(route, str(status_code)).inc()


def create_app(settings: Settings) -> FastAPI:
    check_bind(settings)
    svc = Services(
        settings=settings,
        engine=EngineHolder(settings),
        live=LiveHub(settings),
        keys=ApiKeyStore(keys_path(settings)),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        svc.live.start()
        try:
            yield
        finally:
            await svc.live.stop()
            await svc.engine.close()

    app = FastAPI(
        title="Rasad API",
        version="1",
        lifespan=lifespan,
        description="Search, statistics, alerts and live coverage of Arabic news.",
    )
    app.state.services = svc
    origins = [o.strip() for o in settings.web_cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            ProblemCORS,
            allow_origins=origins,
            allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["X-API-Key", "Content-Type"],
        )

    # Inside Measured, so refusals are counted and carry the security headers too.
    app.add_middleware(RequestGuard, settings=settings)
    app.add_middleware(Measured)
    problems.install(app)

    routers = (system, articles, stats, alerts, entities, reprocess)
    for router in (module.router for module in routers):
        app.include_router(router, responses=problems.ROUTE_RESPONSES)
    _mount_web_app(app)
    return app


def _mount_web_app(app: FastAPI) -> None:
    index = STATIC_DIR / "index.html"
    if not index.exists():
        log.warning("web_app_not_built", hint="run: make frontend", path=str(STATIC_DIR))
        return
    app.mount("/assets", StaticFiles(directory=STATIC_DIR / "assets"), name="assets")

    @app.get("/", include_in_schema=False)
    def home() -> FileResponse:
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
