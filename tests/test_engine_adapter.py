"""The engine adapter: picks the right client, names its failures."""

from __future__ import annotations

import socket

import pytest

from rasad.core.engine.client import (
    Engine,
    EngineRejected,
    EngineUnavailable,
    QueryError,
    detect_kind,
    error_from_status,
    open_engine,
)
from rasad.core.engine.transport import ElasticTransport
from rasad.core.settings import Settings
from tests.index_fixtures import engine, index_settings

__all__ = ["engine", "index_settings"]

OPENSEARCH_ROOT = {"version": {"distribution": "opensearch", "number": "2.19.6"}, "tagline": "x"}
ELASTIC_8_ROOT = {
    "version": {"number": "8.15.0", "build_flavor": "default"},
    "tagline": "You Know, for Search",
}
ELASTIC_9_ROOT = {
    "version": {"number": "9.1.2", "build_flavor": "default"},
    "tagline": "You Know, for Search",
}


@pytest.mark.parametrize(
    ("root", "kind"),
    [
        (OPENSEARCH_ROOT, "opensearch"),
        (ELASTIC_8_ROOT, "elasticsearch"),
        (ELASTIC_9_ROOT, "elasticsearch"),
    ],
)
def test_the_product_is_detected_from_get_root(root: dict[str, object], kind: str) -> None:
    assert detect_kind(root) == kind


def test_an_unknown_product_is_refused() -> None:
    with pytest.raises(EngineRejected, match="not OpenSearch or Elasticsearch"):
        detect_kind({"version": {"number": "1.0"}, "tagline": "something else"})


async def test_elastic_client_speaks_the_servers_major_version() -> None:
    # The 9.x client's default compatible-with=9 is refused by 8.x servers.
    transport = ElasticTransport(Settings(), server_major=8)
    try:
        assert transport._json["accept"].endswith("compatible-with=8")
        assert "x-ndjson; compatible-with=8" in transport._ndjson["content-type"]
    finally:
        await transport.close()


@pytest.mark.parametrize("status", [429, 502, 503, 504, 500])
def test_busy_or_failing_cluster_means_retry_later(status: int) -> None:
    assert isinstance(error_from_status(status, {"error": {"type": "x"}}), EngineUnavailable)


def test_a_rejection_keeps_the_engines_type_and_reason() -> None:
    body = {
        "error": {
            "root_cause": [{"type": "mapper_parsing_exception", "reason": "failed to parse"}],
            "type": "mapper_parsing_exception",
            "reason": "failed to parse",
            "caused_by": {"reason": "Numeric value out of range"},
        }
    }
    error = error_from_status(400, body)
    assert isinstance(error, EngineRejected)
    assert error.error_type == "mapper_parsing_exception"
    assert "Numeric value out of range" in error.reason


async def test_connects_to_the_local_opensearch(engine: Engine) -> None:
    assert engine.info.kind == "opensearch"
    assert engine.info.major >= 2
    assert (await engine.health())["status"] in {"green", "yellow"}


async def test_a_closed_port_is_engine_unavailable(live_stack: Settings) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(**{**live_stack.model_dump(), "engine_url": f"http://127.0.0.1:{port}"})
    with pytest.raises(EngineUnavailable):
        async with open_engine(settings):
            pass


async def test_requests_go_on_through_the_next_url_when_a_node_cannot_be_reached(
    live_stack: Settings,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    urls = f"{dead}, {live_stack.engine_url}"
    settings = Settings(**{**live_stack.model_dump(), "engine_url": urls})
    assert settings.engine_urls == [dead, live_stack.engine_url]
    async with open_engine(settings) as engine:
        for _ in range(3):  # whichever node the client tries first
            assert (await engine.health())["status"] in {"green", "yellow"}


def test_an_engine_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match=r"not a URL: '127\.0\.0\.1:9201'"):
        Settings(engine_url="http://127.0.0.1:9200,127.0.0.1:9201")


async def test_a_bad_query_is_a_query_error_with_the_engines_reason(
    engine: Engine, index_settings: Settings
) -> None:
    bad = {"query": {"range": {"published_at": {"gte": "not a date"}}}}
    with pytest.raises(QueryError, match="not a date"):
        await engine.search(index_settings.articles_read_alias, bad)
