"""The request guard: checks every HTTP request before a route sees it.

* **Host allow-list.** A page on a foreign site can point its own name at 127.0.0.1 (DNS
  rebinding) and then read the no-auth local server as "same origin". Its requests still
  carry the foreign name in ``Host``, so local mode answers only loopback names (or the names
  in ``RASAD_WEB_ALLOWED_HOSTS``).
* **Cross-site changes.** A foreign page can send a "simple" POST (``text/plain``, a form, no
  body) without a CORS preflight. A change (POST, PUT, PATCH, DELETE) must carry a JSON body or
  a custom header (``X-Requested-With``, ``X-API-Key``), which a foreign page cannot send
  without the preflight we refuse, and a foreign ``Origin`` is refused outright.
* **Public paths.** In apikey mode, the paths outside the API (health, metrics, the schema and
  its docs) answer without a key only if ``RASAD_WEB_PUBLIC_PATHS`` lists them.
* **URL length.** A URL (path and query) over ``RASAD_WEB_MAX_URL_BYTES`` is refused with 414;
  a request head too long for the HTTP server itself is refused there (:mod:`rasad.web.server`).
* **Body size.** A body larger than ``RASAD_WEB_MAX_BODY_BYTES`` is refused with 413, whether
  it declares its length or streams it.

Refusals are problem details (:mod:`rasad.web.problems`), like every other error.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rasad.core.settings import Settings
from rasad.web.auth import ApiKeyStore, keys_path
from rasad.web.problems import problem

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Paths outside /api that routes do not guard with a key; RASAD_WEB_PUBLIC_PATHS opens them.
OUTSIDE_API = frozenset(
    {"/healthz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
)
# Headers a cross-site page cannot add without a CORS preflight.
CUSTOM_HEADERS = ("x-requested-with", "x-api-key")


class BodyTooLarge(HTTPException):
    """The streamed body passed the size limit: a 413 through the app's own error handler."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over {limit} bytes")


def _host_name(host: str) -> str:
    """``Host`` without its port, lower case; IPv6 literals lose their brackets."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def allowed_hosts(settings: Settings) -> frozenset[str] | None:
    """The Host names served, or None for any (apikey mode without a list)."""
    names = {_host_name(h) for h in settings.web_allowed_hosts.split(",") if h.strip()}
    if names:
        return frozenset(names)
    if settings.web_auth == "local":
        return LOOPBACK_NAMES | {_host_name(settings.web_host)}
    return None


class RequestGuard:
    """ASGI middleware applying the checks above."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.hosts = allowed_hosts(settings)
        self.origins = {o.strip() for o in settings.web_cors_origins.split(",") if o.strip()}
        self.max_body = settings.web_max_body_bytes
        self.max_url = settings.web_max_url_bytes
        self.keys = ApiKeyStore(keys_path(settings)) if settings.web_auth == "apikey" else None
        public = {p.strip() for p in settings.web_public_paths.split(",") if p.strip()}
        self.closed = OUTSIDE_API - public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = (
            self._too_long(scope)
            or self._refusal(scope["method"], headers)
            or self._keyless(scope["path"], headers)
        )
        if refusal is not None:
            status, detail = refusal
            await problem(status, detail)(scope, receive, send)
            return
        await self._limited(scope, receive, send)

    def _too_long(self, scope: Scope) -> tuple[int, str] | None:
        length = len(scope.get("raw_path") or scope["path"]) + len(scope["query_string"])
        if length <= self.max_url:
            return None
        return 414, f"the URL is {length} bytes, over {self.max_url} (RASAD_WEB_MAX_URL_BYTES)"

    def _refusal(self, method: str, headers: Headers) -> tuple[int, str] | None:
        host = _host_name(headers.get("host", ""))
        if self.hosts is not None and host not in self.hosts:
            return 400, (
                f"this server does not answer for host {host[:80]!r}; "
                "add it to RASAD_WEB_ALLOWED_HOSTS if it is yours"
            )
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            return 413, f"the request body is over {self.max_body} bytes"
        if method not in CHANGES:
            return None
        origin = headers.get("origin")
        if origin and origin not in self.origins and not _same_origin(origin, headers):
            return 403, f"a change from another site ({origin[:80]}) is refused"
        json_body = headers.get("content-type", "").split(";")[0].strip() == "application/json"
        if not json_body and not any(h in headers for h in CUSTOM_HEADERS):
            return 403, (
                "a change needs a JSON body (Content-Type: application/json) or an "
                "X-Requested-With header"
            )
        return None

    def _keyless(self, path: str, headers: Headers) -> tuple[int, str] | None:
        """apikey mode: a non-public path outside the API without a valid key."""
        if self.keys is None or path not in self.closed:
            return None
        key = headers.get("x-api-key")
        if key and self.keys.verify(key) is not None:
            return None
        return 401, f"{path} needs an X-API-Key here (it is not in RASAD_WEB_PUBLIC_PATHS)"

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        await self.app(scope, counted, send)


def _same_origin(origin: str, headers: Headers) -> bool:
    parts = urlsplit(origin)
    return bool(parts.netloc) and parts.netloc.lower() == headers.get("host", "").lower()
