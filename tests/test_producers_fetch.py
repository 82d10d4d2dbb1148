"""Fetching is bounded and polite, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from producers.fetch import (
    CHUNK_BYTES,
    DecompressionBombError,
    Fetcher,
    FetchLimits,
    FetchTimeoutError,
    HTTPStatusError,
    TooLargeError,
    TooManyRedirectsError,
)
from tests.producers_fixtures import NABD, FeedServer, Handler, producer_settings, static

FEED = (NABD / "feed.xml").read_bytes()
CAP = 1_000_000  # response cap used here: 1 MB


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    srv = FeedServer()
    await srv.start()
    yield srv
    await srv.stop()


@pytest.fixture
async def fetcher(tmp_path: Path) -> AsyncIterator[Fetcher]:
    settings = producer_settings(
        tmp_path, producer_max_response_bytes=CAP, producer_max_decompressed_bytes=CAP
    )
    async with Fetcher(FetchLimits.from_settings(settings)) as f:
        yield f


async def test_conditional_get_gets_304_and_an_empty_body(
    server: FeedServer, fetcher: Fetcher
) -> None:
    async def feed(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304)
        return web.Response(
            body=FEED, headers={"ETag": '"v1"', "Last-Modified": "Tue, 10 Nov 2015"}
        )

    server.routes["/feed.xml"] = feed
    first = await fetcher.fetch(server.url("/feed.xml"))
    second = await fetcher.fetch(server.url("/feed.xml"), etag=first.etag)
    assert (first.status, first.body, first.etag) == (200, FEED, '"v1"')
    assert (second.status, second.body) == (304, b"")
    assert server.requests[1].headers["If-None-Match"] == '"v1"'
    assert "Rasad" in server.requests[0].headers["User-Agent"]


async def test_gzip_and_deflate_bodies_are_decompressed(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.routes["/gz"] = static(gzip.compress(FEED), **{"Content-Encoding": "gzip"})
    server.routes["/deflate"] = static(zlib.compress(FEED), **{"Content-Encoding": "deflate"})
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    server.routes["/raw"] = static(
        raw.compress(FEED) + raw.flush(), **{"Content-Encoding": "deflate"}
    )
    for path in ("/gz", "/deflate", "/raw"):
        assert (await fetcher.fetch(server.url(path))).body == FEED


async def test_a_50mb_body_is_aborted_while_streaming(server: FeedServer, fetcher: Fetcher) -> None:
    sent = 0
    chunk = ("نص عربي طويل " * 5000).encode()[:65536]

    async def huge(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)  # chunked: no Content-Length to refuse up front
        try:
            while sent < 50_000_000:
                await response.write(chunk)
                sent += len(chunk)
        except (ConnectionError, RuntimeError):
            pass
        return response

    server.routes["/huge"] = huge
    with pytest.raises(TooLargeError) as caught:
        await fetcher.fetch(server.url("/huge"))
    assert CAP < caught.value.bytes_read <= CAP + CHUNK_BYTES
    await asyncio.sleep(0.2)
    assert sent < 50_000_000  # the server was cut off, not drained


async def test_a_declared_oversize_body_is_refused_before_reading(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.routes["/big"] = static(b"x" * (CAP + 1))
    with pytest.raises(TooLargeError, match="Content-Length"):
        await fetcher.fetch(server.url("/big"))


async def test_a_gzip_bomb_is_defused(server: FeedServer, fetcher: Fetcher) -> None:
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)  # ~50 KB on the wire
    server.routes["/bomb"] = static(bomb, **{"Content-Encoding": "gzip"})
    with pytest.raises(DecompressionBombError):
        await fetcher.fetch(server.url("/bomb"))


def redirect(to: str) -> Handler:
    async def handler(_request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(to)

    return handler


async def test_a_redirect_loop_stops(server: FeedServer, fetcher: Fetcher) -> None:
    server.routes["/a"] = redirect("/b")
    server.routes["/b"] = redirect("/a")
    with pytest.raises(TooManyRedirectsError, match="loop"):
        await fetcher.fetch(server.url("/a"))
    assert len(server.requests) == 2


async def test_a_long_redirect_chain_is_cut_and_a_short_one_followed(
    server: FeedServer, fetcher: Fetcher
) -> None:
    for i in range(10):
        server.routes[f"/r{i}"] = redirect(f"/r{i + 1}")
    server.routes["/r10"] = static(FEED)
    with pytest.raises(TooManyRedirectsError, match="more than 5"):
        await fetcher.fetch(server.url("/r0"))
    assert (await fetcher.fetch(server.url("/r7"))).url == server.url("/r10")


async def test_a_server_that_never_answers_times_out(server: FeedServer, fetcher: Fetcher) -> None:
    async def silent(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    server.routes["/silent"] = silent
    started = time.monotonic()
    with pytest.raises(FetchTimeoutError):
        await fetcher.fetch(server.url("/silent"))
    assert time.monotonic() - started < 10


async def test_http_errors_are_typed_and_404_counts_as_permanent(
    server: FeedServer, fetcher: Fetcher
) -> None:
    async def busy(request: web.Request) -> web.StreamResponse:
        return web.Response(status=503, headers={"Retry-After": "120"})

    server.routes["/busy"] = busy
    with pytest.raises(HTTPStatusError) as missing:
        await fetcher.fetch(server.url("/missing"))
    with pytest.raises(HTTPStatusError) as unavailable:
        await fetcher.fetch(server.url("/busy"))
    assert missing.value.permanent and missing.value.status == 404
    assert not unavailable.value.permanent and unavailable.value.retry_after == 120


async def test_one_host_gets_one_request_at_a_time_with_a_gap(
    server: FeedServer, tmp_path: Path
) -> None:
    active, overlaps, starts = 0, 0, []

    async def slow(request: web.Request) -> web.StreamResponse:
        nonlocal active, overlaps
        active += 1
        overlaps += active > 1
        starts.append(time.monotonic())
        await asyncio.sleep(0.05)
        active -= 1
        return web.Response(body=FEED)

    server.routes["/slow"] = slow
    settings = producer_settings(tmp_path, producer_host_gap_s=0.2)
    async with Fetcher(FetchLimits.from_settings(settings)) as polite:
        await asyncio.gather(*(polite.fetch(server.url("/slow")) for _ in range(3)))
    assert overlaps == 0
    assert all(b - a >= 0.2 for a, b in itertools.pairwise(starts))
