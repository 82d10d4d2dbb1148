"""The API keeps its published contract: schemathesis generates requests for every route but
the live stream, from the OpenAPI schema the server publishes, and checks each answer against it
(no 5xx, only documented statuses, bodies and content types as documented). A real server on
real articles; bounded examples per route, so it runs in `make test`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate
from schemathesis import Case, GenerationMode
from schemathesis.checks import CHECKS
from schemathesis.schemas import APIOperation, BaseSchema

from rasad.core.settings import Settings
from tests.web_fixtures import WEB_APP_HEADERS, LiveServer, enriched_corpus, free_port, indexed

__all__ = ["enriched_corpus", "indexed"]  # fixtures used by name

# Examples per route and mode (valid, invalid): enough to try every parameter's edges, few
# enough for `make test` (~2 minutes for 17 operations on 2 cores).
EXAMPLES = 15


@pytest.fixture(scope="module")
def contract_server(indexed: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on the indexed corpus, with its own data dir (generated API keys land there)."""
    own = indexed.model_copy(
        update={"data_dir": tmp_path_factory.mktemp("contract"), "web_port": free_port()}
    )
    with LiveServer(own) as server:
        yield server.url


@pytest.fixture(scope="module")
def api_schema(contract_server: str) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{contract_server}/openapi.json")


def test_the_published_schema_is_valid_openapi(api_schema: BaseSchema) -> None:
    validate(api_schema.raw_schema)


def test_every_route_documents_problem_details_for_its_errors(api_schema: BaseSchema) -> None:
    for path, operations in api_schema.raw_schema["paths"].items():
        for method, operation in operations.items():
            for status in ("400", "414", "422", "431", "503"):
                if (path, status) == ("/healthz", "503"):
                    continue  # the health report itself, which says what is down
                content = operation["responses"][status]["content"]
                assert "application/problem+json" in content, (method, path, status)


# A valid-looking value the API still refuses (a query that cannot parse, a cursor of another
# search, a period past a century) is a 400 by design, so "positive data acceptance" is off.
CHECKED: list[Any] = [
    check for check in CHECKS.get_all() if check.__name__ != "positive_data_acceptance"
]


def operations(api_schema: BaseSchema) -> list[APIOperation[Any, Any, Any, Any]]:
    """Every operation but the live stream (it never ends, by design)."""
    found = [result.ok() for result in api_schema.get_all_operations()]  # type: ignore[union-attr]
    return [op for op in found if op.path != "/api/live"]


def test_the_api_answers_as_its_schema_says(api_schema: BaseSchema) -> None:
    failures: list[str] = []
    for operation in operations(api_schema):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(mode))
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
            def check(case: Case[Any]) -> None:
                case.call_and_validate(headers=WEB_APP_HEADERS, checks=CHECKED, timeout=30)

            try:
                check()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE  # no parameters: nothing to get wrong
            except Exception as exc:  # a report per operation, not just the first one
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {exc}")
    assert failures == [], "\n\n".join(failures)
