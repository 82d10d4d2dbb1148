"""Hostile input to the HTTP API gets a clear 4xx in problem-details form: never a 5xx, never a
traceback, never an echo of the whole input (issue 22). On the real engine, real articles."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from indexers.search.query import Filters
from indexers.search.searcher import SearchRequest, _fingerprint
from rasad.core.settings import Settings
from rasad.web.app import create_app
from rasad.web.auth import ApiKeyStore, keys_path
from tests.web_fixtures import client, enriched_corpus, indexed, web_settings

__all__ = ["client", "enriched_corpus", "indexed"]  # fixtures used by name

PROBLEM = "application/problem+json"
JSON = {"Content-Type": "application/json"}


def assert_problem(answer: httpx.Response, status: int, says: str = "") -> dict[str, Any]:
    """The answer is RFC 9457 problem details with this status, short, and says `says`."""
    assert answer.status_code == status, answer.text[:500]
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    assert body["status"] == status and body["title"] and body["type"] == "about:blank"
    assert says in body["detail"], body
    assert len(answer.content) < 4000, "an error quotes a short excerpt, never the whole input"
    return body


def forged_cursor(after: list[Any], sort: str = "relevance") -> str:
    """A cursor anyone can compute: the fingerprint is a hash of the (known) query."""
    request = SearchRequest(filters=Filters(), sort=sort)  # type: ignore[arg-type]
    raw = orjson.dumps({"q": _fingerprint(request), "after": after})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "path",
    [
        "/api/stats/volume",
        "/api/stats/top-entities",
        "/api/stats/rising",
        "/api/stats/sources",
        "/api/search",
    ],
)
@pytest.mark.parametrize("since", ["999999w", "99999999999999999999d", "0d", "soon"])
async def test_a_period_too_long_or_malformed_is_a_400_everywhere(
    client: httpx.AsyncClient, path: str, since: str
) -> None:
    assert_problem(await client.get(path, params={"since": since}), 400, "since")


async def test_an_alert_backtest_over_a_huge_period_is_a_400(client: httpx.AsyncClient) -> None:
    answer = await client.post("/api/alerts/test?since=999999w", json={"query": "ترامب"})

    assert_problem(answer, 400, "at most 100 years")


@pytest.mark.parametrize(
    "after",
    [[None, None, None], [{"a": 1}, "x", "y"], [1.0], [], [True, 1, "x"]],
)
async def test_a_forged_cursor_is_a_400_not_an_engine_outage(
    client: httpx.AsyncClient, after: list[Any]
) -> None:
    answer = await client.get("/api/search", params={"cursor": forged_cursor(after)})

    assert_problem(answer, 400, "cursor")


async def test_six_hundred_entity_filters_are_refused_before_the_engine(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/api/search", params=[("entity", f"e{i}") for i in range(600)])

    assert_problem(answer, 400, "at most 100 values")


async def test_an_engine_refusal_caused_by_the_request_is_a_400(
    client: httpx.AsyncClient,
) -> None:
    # 100 entities (allowed) and a long OR query: past the engine's 1,024-clause limit.
    query = " OR ".join(f"w{i}" for i in range(60))
    params: list[tuple[str, str | int | float | bool | None]] = [
        ("entity", f"e{i}") for i in range(100)
    ]
    params.append(("q", query))

    answer = await client.get("/api/search", params=params)

    assert answer.status_code in (200, 400), answer.text[:300]
    if answer.status_code == 400:
        assert_problem(answer, 400, "query")


@pytest.mark.parametrize("value", [2**70, 10**7, 0, -1])
async def test_an_out_of_range_throttle_is_a_422_listing_the_field(
    client: httpx.AsyncClient, value: int
) -> None:
    answer = await client.post(
        "/api/alerts", json={"name": "t", "query": "ترامب", "throttle_max": value}
    )

    body = assert_problem(answer, 422, "throttle_max")
    assert body["errors"][0]["loc"] == ["body", "throttle_max"]
    assert "input" not in body["errors"][0]


async def test_a_huge_field_is_refused_without_echoing_it(client: httpx.AsyncClient) -> None:
    answer = await client.post("/api/alerts", json={"name": "t", "query": "ب" * 400_000})

    assert_problem(answer, 422, "at most 1000 characters")


async def test_a_body_over_the_limit_is_a_413(client: httpx.AsyncClient) -> None:
    answer = await client.post("/api/alerts", content=b"x" * 2_000_000, headers=JSON)

    assert_problem(answer, 413, "over 1000000 bytes")


async def test_dates_at_the_edges_of_the_calendar_are_answered(client: httpx.AsyncClient) -> None:
    params = {"date_from": "0001-01-01T00:00:00+00:00", "date_to": "9999-12-31T23:59:59+00:00"}

    answer = await client.get("/api/search", params=params)

    assert answer.status_code == 200, answer.text[:300]


async def test_a_naive_date_is_a_400_that_asks_for_a_zone(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/search", params={"date_from": "2018-01-01T00:00:00"})

    assert_problem(answer, 400, "time zone")


@pytest.mark.parametrize("sort", ["relevance", "newest", "oldest"])
async def test_every_sort_the_web_app_offers_is_accepted(
    client: httpx.AsyncClient, sort: str
) -> None:
    answer = await client.get("/api/search", params={"q": "ترامب", "sort": sort})

    assert answer.status_code == 200, answer.text


async def test_an_unknown_sort_is_a_422(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/search", params={"sort": "time"}), 422, "sort")


async def test_an_unknown_path_is_a_problem_too(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/nothing-here"), 404)


# --- Local mode resists cross-site use -----------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def bare() -> AsyncIterator[httpx.AsyncClient]:
    """The local-mode API with no headers added: what a foreign page can send."""
    app = create_app(web_settings())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as http:
        yield http


@pytest.mark.parametrize("host", ["evil.example", "rebind.attacker.test:8000", "10.0.0.5"])
async def test_a_rebinding_host_name_is_refused(bare: httpx.AsyncClient, host: str) -> None:
    answer = await bare.get("/api/alerts", headers={"Host": host})

    assert_problem(answer, 400, "does not answer for host")


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost", "[::1]:8000"])
async def test_loopback_host_names_are_answered(bare: httpx.AsyncClient, host: str) -> None:
    answer = await bare.get("/api/nothing-here", headers={"Host": host})

    assert answer.status_code == 404


async def test_a_cross_site_text_plain_post_is_refused(bare: httpx.AsyncClient) -> None:
    headers = {"Origin": "https://evil.example", "Content-Type": "text/plain"}

    answer = await bare.post("/api/alerts/some-alert/pause", headers=headers, content=b"x")

    assert_problem(answer, 403, "another site")


async def test_a_body_less_change_without_the_custom_header_is_refused(
    bare: httpx.AsyncClient,
) -> None:
    answer = await bare.post("/api/alerts/some-alert/pause")

    assert_problem(answer, 403, "X-Requested-With")


async def test_a_foreign_origin_is_refused_even_with_a_json_body(bare: httpx.AsyncClient) -> None:
    headers = {**JSON, "Origin": "http://evil.example"}

    answer = await bare.post("/api/alerts", headers=headers, content=b'{"name": "x"}')

    assert_problem(answer, 403, "another site")


def test_an_allow_list_setting_replaces_the_loopback_names() -> None:
    from rasad.web.guard import allowed_hosts

    assert allowed_hosts(Settings(web_allowed_hosts="rasad.example.org:443")) == frozenset(
        {"rasad.example.org"}
    )
    assert allowed_hosts(Settings(web_auth="apikey", web_host="0.0.0.0")) is None
    assert "localhost" in (allowed_hosts(Settings()) or set())


async def test_apikey_mode_opens_only_the_listed_public_paths(tmp_path: Path) -> None:
    settings = web_settings(web_auth="apikey", data_dir=tmp_path, web_public_paths="/healthz")
    _, key = ApiKeyStore(keys_path(settings)).add("scraper", "reader")
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as http:
        closed = await http.get("/metrics")
        opened = await http.get("/metrics", headers={"X-API-Key": key})
        schema = await http.get("/openapi.json")

    assert_problem(closed, 401, "RASAD_WEB_PUBLIC_PATHS")
    assert opened.status_code == 200 and opened.headers["content-type"].startswith("text/plain")
    assert_problem(schema, 401, "X-API-Key")


@pytest.mark.parametrize("name", ["   ", "a\nb"])
async def test_an_api_key_name_of_only_spaces_or_controls_is_a_422(
    client: httpx.AsyncClient, name: str
) -> None:
    answer = await client.post("/api/keys", json={"name": name, "role": "reader"})

    assert_problem(answer, 422, "body.name")


@pytest.mark.parametrize(
    ("origin", "method", "header", "says"),
    [
        ("http://evil.example", "POST", "content-type", "origin"),
        ("http://good.example", "TRACE", "content-type", "method"),
        ("http://good.example", "POST", "x-evil", "headers"),
    ],
)
async def test_a_refused_cors_preflight_is_a_problem_too(
    origin: str, method: str, header: str, says: str
) -> None:
    app = create_app(web_settings(web_cors_origins="http://good.example"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        answer = await http.options(
            "/api/alerts",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": header,
            },
        )

    assert_problem(answer, 400, f"Disallowed CORS {says}")
