"""One error format for every 4xx and 5xx: RFC 9457 problem details (application/problem+json).

Every refusal, whoever raises it (a route, FastAPI's validation, the search layer, the engine
adapter, the request guard), leaves the server as ``{"type", "title", "status", "detail"}``;
a 422 adds ``errors``, one per invalid field. Nothing echoes more than a short excerpt of the
caller's input: a 10 MB query must not come back as a 10 MB error. The OpenAPI schema documents
the same shape for every status a route can return (:data:`ROUTE_RESPONSES`).
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from rasad.core.engine.client import EngineRejected, EngineUnavailable, QueryError
from rasad.core.logs import get_logger

log = get_logger(__name__)

MEDIA_TYPE = "application/problem+json"
# Characters of a caller's input an error may quote: enough to recognise it, never all of it.
EXCERPT_CHARS = 80
# Invalid fields listed in one 422; a hostile request with thousands of bad fields gets these.
MAX_FIELD_ERRORS = 20


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where the invalid value is: query, body, field…")
    msg: str = Field(description="What is wrong with it.")
    type: str = Field(description="Pydantic's error type, e.g. missing, int_parsing.")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field("about:blank", description="A URI naming the problem type.")
    title: str = Field(description="The HTTP status phrase, e.g. Bad Request.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong with this request, in words.")
    errors: list[FieldError] | None = Field(None, description="422 only: the invalid fields.")


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


def problem_body(status: int, detail: str, errors: list[dict[str, Any]] | None = None) -> bytes:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": excerpt(detail, 4 * EXCERPT_CHARS),
    }
    if errors is not None:
        body["errors"] = errors
    return orjson.dumps(body)


def problem(
    status: int,
    detail: str,
    headers: Mapping[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> Response:
    body = problem_body(status, detail, errors)
    return Response(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors without the input they quote (``input``, ``ctx``, ``url``)."""
    out = []
    for error in exc.errors()[:MAX_FIELD_ERRORS]:
        loc = [p if isinstance(p, int) else excerpt(str(p), 40) for p in error.get("loc", ())]
        out.append(
            {"loc": loc, "msg": excerpt(str(error.get("msg", "")), 200), "type": error["type"]}
        )
    return out


def install(app: FastAPI) -> None:
    """Register the handlers that turn every refusal and failure into problem details."""
    document(app)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        return problem(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> Response:
        errors = _field_errors(exc)
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        detail = f"{where}: {first['msg']}" + (
            f" (and {len(errors) - 1} more)" if errors[1:] else ""
        )
        return problem(422, detail, errors=errors)

    @app.exception_handler(QueryError)
    async def bad_query(_: Request, exc: QueryError) -> Response:
        return problem(400, str(exc))

    @app.exception_handler(EngineUnavailable)
    async def engine_down(_: Request, exc: EngineUnavailable) -> Response:
        log.warning("engine_unavailable", error=str(exc))
        return problem(503, f"the search engine is unavailable: {exc}")

    @app.exception_handler(EngineRejected)
    async def engine_refused(_: Request, exc: EngineRejected) -> Response:
        # A refusal this server's own request earned (a bug here, not the caller's input).
        log.error("engine_rejected", error=str(exc))
        return problem(502, f"the search engine refused the request: {exc.reason}")

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        log.exception("request_failed", path=request.url.path, error=type(exc).__name__)
        return problem(500, "internal error; the server log has the details")


def _problem_response(description: str) -> dict[str, Any]:
    # FastAPI files the model's schema under the route's media type (application/json);
    # :func:`document` moves it under application/problem+json, the type actually sent.
    return {"description": description, "model": Problem, "content": {MEDIA_TYPE: {}}}


def document(app: FastAPI) -> None:
    """Make the OpenAPI schema say application/problem+json wherever a Problem is returned."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    for response in operation.get("responses", {}).values():
                        content = response.get("content", {})
                        if MEDIA_TYPE in content and "application/json" in content:
                            content[MEDIA_TYPE] = content.pop("application/json")
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


# The statuses any route can answer besides its success, documented once for all: the guard
# and the HTTP server (400 Host or malformed request, 403 cross-site, 413 body, 414 URL, 431
# headers), auth (401, 403), validation (422) and the engine (502,
# 503). Route-specific ones (404, 409) are added where they occur.
ROUTE_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem_response(
        "A malformed query, period, cursor or filter; an unknown Host; a malformed HTTP request."
    ),
    401: _problem_response("apikey mode: no X-API-Key, or an unknown one."),
    403: _problem_response("The key's role is too low, or a cross-site change was refused."),
    413: _problem_response("The request body is larger than the API accepts."),
    414: _problem_response("The URL is longer than the API accepts (RASAD_WEB_MAX_URL_BYTES)."),
    431: _problem_response("The request's headers are larger than RASAD_WEB_MAX_HEAD_BYTES."),
    422: _problem_response("A parameter or body field is invalid; errors lists them."),
    500: _problem_response("An internal error (a bug); the server log has the details."),
    502: _problem_response("The search engine refused a request this server made."),
    503: _problem_response("The search engine is unreachable, or too many live clients."),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _problem_response("No such resource.")}
CONFLICT: dict[int | str, dict[str, Any]] = {409: _problem_response("The name is taken.")}
