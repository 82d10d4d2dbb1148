"""Requests too long or too broken for the HTTP server itself still get problem details: a real
`rasad serve` process on 127.0.0.1, reached over real sockets (issue 22). A URL over
RASAD_WEB_MAX_URL_BYTES is refused by the app; a request head over RASAD_WEB_MAX_HEAD_BYTES,
or one that is not HTTP, by the server before the app sees it; every refusal is
application/problem+json, never uvicorn's own text."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.web_fixtures import REPO, free_port

PROBLEM = "application/problem+json"
HEAD_LIMIT = 65536  # RASAD_WEB_MAX_HEAD_BYTES's default
URL_LIMIT = 8192  # RASAD_WEB_MAX_URL_BYTES's default
STARTUP_DEADLINE_S = 60  # `rasad serve` starts in ~2 s; a loaded CI box can take much longer


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`rasad serve` with its default limits, on a free port, its own data dir."""
    data_dir = tmp_path_factory.mktemp("served")
    port = free_port()
    env = {**os.environ, "RASAD_WEB_PORT": str(port), "RASAD_DATA_DIR": str(data_dir)}
    log = (data_dir / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "rasad.cli", "serve"], cwd=REPO, env=env, stdout=log, stderr=log
    )
    try:
        _wait_listening(port, process, data_dir / "serve.log")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)  # polling for the port, not waiting out a guess
    raise AssertionError(f"rasad serve did not listen within {STARTUP_DEADLINE_S} s")


def assert_problem(answer: httpx.Response, status: int, says: str) -> None:
    assert answer.status_code == status, answer.text[:500]
    assert answer.headers["content-type"] == PROBLEM
    body = answer.json()
    assert body["status"] == status and body["type"] == "about:blank", body
    assert says in body["detail"], body
    assert len(answer.content) < 1000


def raw_exchange(url: str, request: bytes) -> httpx.Response:
    """Send bytes no HTTP client would, and read the answer as a response."""
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return httpx.Response(int(status_line.split()[1]), headers=headers, content=body)


@pytest.mark.parametrize("length", [URL_LIMIT + 1, 40_000])
def test_a_url_over_the_app_limit_is_a_414(served: str, length: int) -> None:
    query = "q=" + "ب" * ((length - len("/api/search?q=")) // 6 + 1)
    answer = httpx.get(f"{served}/api/search?{query}", timeout=30)

    assert_problem(answer, 414, "RASAD_WEB_MAX_URL_BYTES")


def test_a_url_of_a_megabyte_is_a_414_from_the_server_itself(served: str) -> None:
    # Sent whole, as curl would: the refusal must survive the megabyte the server never reads.
    request = b"GET /api/search?q=" + b"a" * 1_000_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    answer = raw_exchange(served, request)

    assert_problem(answer, 414, "request line is over 65536 bytes")


def test_headers_over_the_head_limit_are_a_431(served: str) -> None:
    answer = httpx.get(f"{served}/healthz", headers={"X-Big": "a" * 200_000}, timeout=30)

    assert_problem(answer, 431, "request headers are over 65536 bytes")


def test_a_head_one_byte_over_the_limit_is_refused(served: str) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: "
    answer = raw_exchange(served, head + b"a" * (HEAD_LIMIT + 1 - len(head)))

    assert_problem(answer, 431, "RASAD_WEB_MAX_HEAD_BYTES")


HEAD = b"POST /api/alerts HTTP/1.1\r\nHost: 127.0.0.1\r\n"


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"\x16\x03\x01 hello, not http\r\n\r\n",
        HEAD + b"Transfer-Encoding: chunked\r\n\r\nZZ\r\n",
        HEAD + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
    ],
    ids=["tls-hello", "bad-chunk", "two-lengths"],
)
def test_a_request_that_is_not_http_is_a_400(served: str, request_bytes: bytes) -> None:
    answer = raw_exchange(served, request_bytes)

    assert_problem(answer, 400, "malformed HTTP request")
    assert answer.headers["content-length"] == str(len(answer.content))


def test_the_schema_documents_414_and_431_in_problem_details(served: str) -> None:
    schema = orjson.loads(httpx.get(f"{served}/openapi.json", timeout=30).content)
    responses = schema["paths"]["/api/search"]["get"]["responses"]

    for status in ("414", "431"):
        assert PROBLEM in responses[status]["content"], status
