"""Polite, bounded HTTP fetching of feeds and pages (aiohttp, streaming, no auto-decompression).

Every limit is enforced while the bytes arrive, never after buffering them: a response past
``max_bytes`` on the wire or ``max_decompressed`` after gzip/deflate is aborted mid-stream.
Redirects are followed by hand so each hop is counted and goes through the per-host gate
(one request at a time per host, a minimum gap between two).
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import ClassVar, Self
from urllib.parse import urljoin

import aiohttp

from producers.canonical import host_of
from rasad.core.settings import Settings

# Read size while streaming: small enough that an over-size body is cut within 64 KB of the cap.
CHUNK_BYTES = 64 * 1024
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Enough of an error page to recognise a bot challenge (Cloudflare's start within 8 KB).
ERROR_PEEK_BYTES = 16 * 1024
# Markers of an anti-bot interstitial rather than the page or feed asked for.
CHALLENGE_MARKERS = (
    b"cf-chl",
    b"challenge-platform",
    b"Just a moment...",
    b"Attention Required! | Cloudflare",
    b"cf-browser-verification",
    b"captcha-delivery",
    b"_Incapsula_Resource",
)


def is_challenge(body: bytes, headers: Mapping[str, str] | None = None) -> bool:
    """True for an anti-bot challenge (Cloudflare, DataDome, Imperva) instead of content."""
    if headers is not None and headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    head = body[:ERROR_PEEK_BYTES]
    return any(marker in head for marker in CHALLENGE_MARKERS)


class FetchError(Exception):
    """A fetch that produced no usable body. ``kind`` names it in metrics and feed health."""

    kind: ClassVar[str] = "fetch"

    def __init__(self, message: str, *, bytes_read: int = 0) -> None:
        super().__init__(message)
        self.bytes_read = bytes_read

    @property
    def permanent(self) -> bool:
        """True when the URL itself looks wrong: these count toward the "dead" state."""
        return False


class TooLargeError(FetchError):
    kind = "too_large"


class DecompressionBombError(FetchError):
    kind = "decompression_bomb"


class TooManyRedirectsError(FetchError):
    kind = "redirects"


class FetchTimeoutError(FetchError):
    kind = "timeout"


class DNSError(FetchError):
    kind = "dns"

    @property
    def permanent(self) -> bool:
        return True


class ConnectError(FetchError):
    kind = "connect"


class BlockedError(FetchError):
    """A 200 whose body is a bot challenge (Cloudflare, DataDome...) instead of the content."""

    kind = "blocked"


class HTTPStatusError(FetchError):
    kind = "http_status"

    def __init__(
        self, status: int, retry_after: float | None = None, *, challenge: bool = False
    ) -> None:
        super().__init__(f"HTTP {status}" + (" (a bot challenge page)" if challenge else ""))
        self.status = status
        self.retry_after = retry_after
        self.challenge = challenge

    @property
    def permanent(self) -> bool:
        return self.status in (404, 410)


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout_s: float
    read_timeout_s: float
    total_timeout_s: float
    max_bytes: int
    max_decompressed: int
    max_redirects: int
    user_agent: str
    host_gap_s: float

    @classmethod
    def from_settings(cls, s: Settings) -> Self:
        return cls(
            s.producer_connect_timeout_s,
            s.producer_read_timeout_s,
            s.producer_total_timeout_s,
            s.producer_max_response_bytes,
            s.producer_max_decompressed_bytes,
            s.producer_max_redirects,
            f"{s.producer_user_agent} +{s.producer_contact_url}",
            s.producer_host_gap_s,
        )


@dataclass(frozen=True)
class FetchResult:
    status: int  # 200, or 304 (not modified: body is empty)
    url: str  # after redirects
    body: bytes
    charset: str | None
    etag: str | None
    last_modified: str | None
    bytes_read: int  # on the wire, before decompression
    # Every redirect followed on the way: (status, the URL it pointed to).
    redirects: tuple[tuple[int, str], ...] = ()
    elapsed_s: float = 0.0  # from the first request to the last byte, redirects included

    @property
    def moved_to(self) -> str | None:
        """The final URL when the chain began with a permanent redirect (301/308)."""
        if self.redirects and self.redirects[0][0] in (301, 308):
            return self.url
        return None


class HostGate:
    """At most one request at a time per host, and ``gap`` seconds between two."""

    def __init__(self, gap: float) -> None:
        self._gap = gap
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(host, asyncio.Lock())
        async with lock:
            wait = self._last.get(host, -self._gap) + self._gap - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                yield
            finally:
                self._last[host] = time.monotonic()


class _Decoder:
    """Incremental gzip/deflate with a hard cap on output (zlib's max_length, never unbounded)."""

    def __init__(self, encoding: str, cap: int) -> None:
        wbits = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS}.get(encoding)
        self._raw_fallback = wbits is None  # "deflate" is zlib-wrapped or, sadly often, raw
        self._obj = zlib.decompressobj(wbits if wbits is not None else zlib.MAX_WBITS)
        self._cap = cap
        self._started = False
        self.total = 0

    def feed(self, chunk: bytes) -> bytes:
        try:
            out = self._obj.decompress(chunk, self._cap - self.total + 1)
        except zlib.error:
            if self._started or not self._raw_fallback:
                raise
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
            self._raw_fallback = False
            out = self._obj.decompress(chunk, self._cap - self.total + 1)
        self._started = True
        self.total += len(out)
        if self.total > self._cap:
            raise DecompressionBombError(f"decompressed body exceeds {self._cap} bytes")
        return out

    def finish(self) -> bytes:
        out = self._obj.flush()
        self.total += len(out)
        if self.total > self._cap:
            raise DecompressionBombError(f"decompressed body exceeds {self._cap} bytes")
        return out


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: rare on feeds; ordinary backoff applies


class Fetcher:
    """One HTTP session for a whole producer run; use as an async context manager."""

    def __init__(self, limits: FetchLimits, gate: HostGate | None = None) -> None:
        self.limits = limits
        self.gate = gate or HostGate(limits.host_gap_s)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        timeout = aiohttp.ClientTimeout(
            total=self.limits.total_timeout_s,
            sock_connect=self.limits.connect_timeout_s,
            sock_read=self.limits.read_timeout_s,
        )
        self._session = aiohttp.ClientSession(
            timeout=timeout,
            auto_decompress=False,
            headers={"User-Agent": self.limits.user_agent, "Accept-Encoding": "gzip, deflate"},
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET ``url`` (conditionally when validators are given), following bounded redirects."""
        headers = {"Accept": _ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        seen: list[str] = []
        hops: list[tuple[int, str]] = []
        started = time.monotonic()
        while True:
            async with self.gate.slot(host_of(url)):
                result, location = await self._one(url, headers)
            if location is None:
                assert result is not None
                elapsed = time.monotonic() - started
                return replace(result, redirects=tuple(hops), elapsed_s=elapsed)
            seen.append(url)
            hops.append((location[0], urljoin(url, location[1])))
            if len(seen) > self.limits.max_redirects:
                raise TooManyRedirectsError(f"more than {self.limits.max_redirects} redirects")
            url = urljoin(url, location[1])
            if url in seen:
                raise TooManyRedirectsError(f"redirect loop back to {url}")

    async def _one(
        self, url: str, headers: dict[str, str]
    ) -> tuple[FetchResult | None, tuple[int, str] | None]:
        if self._session is None:
            raise RuntimeError("Fetcher used outside `async with`")
        try:
            async with asyncio.timeout(self.limits.total_timeout_s):
                async with self._session.get(url, headers=headers, allow_redirects=False) as resp:
                    if resp.status in _REDIRECTS and "Location" in resp.headers:
                        return None, (resp.status, resp.headers["Location"])
                    if resp.status == 304:
                        return self._result(resp, url, b"", 0), None
                    if resp.status != 200:
                        peek = await resp.content.read(ERROR_PEEK_BYTES)
                        raise HTTPStatusError(
                            resp.status,
                            _retry_after(resp.headers.get("Retry-After")),
                            challenge=is_challenge(peek, resp.headers),
                        )
                    body, wire = await self._read(resp)
                    return self._result(resp, url, body, wire), None
        except aiohttp.ServerTimeoutError as exc:
            raise FetchTimeoutError(f"no data for {self.limits.read_timeout_s:g} s: {exc}") from exc
        except TimeoutError as exc:
            raise FetchTimeoutError(f"not done within {self.limits.total_timeout_s:g} s") from exc
        except aiohttp.ClientConnectorDNSError as exc:
            raise DNSError(f"DNS lookup failed for {host_of(url)}") from exc
        except aiohttp.ClientConnectorError as exc:
            raise ConnectError(f"cannot connect: {exc.os_error or exc}") from exc
        except (aiohttp.ClientError, zlib.error, ValueError) as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}") from exc

    async def _read(self, resp: aiohttp.ClientResponse) -> tuple[bytes, int]:
        cap = self.limits.max_bytes
        if resp.content_length is not None and resp.content_length > cap:
            raise TooLargeError(f"Content-Length {resp.content_length} exceeds {cap} bytes")
        encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
        decoder = (
            _Decoder(encoding, self.limits.max_decompressed)
            if encoding in ("gzip", "x-gzip", "deflate")
            else None
        )
        parts: list[bytes] = []
        wire = 0
        async for chunk in resp.content.iter_chunked(CHUNK_BYTES):
            wire += len(chunk)
            if wire > cap:
                resp.close()  # drop the connection: the rest is never read
                raise TooLargeError(f"body exceeds {cap} bytes", bytes_read=wire)
            parts.append(decoder.feed(chunk) if decoder else chunk)
        if decoder:
            parts.append(decoder.finish())
        return b"".join(parts), wire

    @staticmethod
    def _result(resp: aiohttp.ClientResponse, url: str, body: bytes, wire: int) -> FetchResult:
        return FetchResult(
            status=resp.status,
            url=url,
            body=body,
            charset=resp.charset,
            etag=resp.headers.get("ETag"),
            last_modified=resp.headers.get("Last-Modified"),
            bytes_read=wire,
        )
