"""robots.txt, fetched once per host and obeyed for every page fetch (protego: Google's rules).

Feeds and sitemaps are published to be polled, so they are fetched whatever robots.txt says
about HTML pages; article pages (full text) are fetched only where robots.txt allows Rasad.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from producers.fetch import Fetcher, FetchError, HTTPStatusError

# The product token robots.txt rules name; the User-Agent header starts with it.
ROBOTS_AGENT = "Rasad"
# A day, as Google caches robots.txt; a server error is retried sooner.
DEFAULT_TTL_S = 86400.0
ERROR_TTL_S = 3600.0


@dataclass
class _Entry:
    rules: Protego | None  # None: the host refuses everything for now (robots.txt unreachable)
    expires: float


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


class Robots:
    """Per-host robots.txt for one producer run, through the same polite fetcher."""

    def __init__(self, fetcher: Fetcher, ttl_s: float = DEFAULT_TTL_S) -> None:
        self._fetcher = fetcher
        self._ttl = ttl_s
        self._hosts: dict[str, _Entry] = {}

    async def _rules(self, url: str) -> Protego | None:
        key = robots_url(url)
        entry = self._hosts.get(key)
        if entry is None or entry.expires < time.monotonic():
            entry = self._hosts[key] = await self._fetch(key)
        return entry.rules

    async def _fetch(self, url: str) -> _Entry:
        now = time.monotonic()
        try:
            result = await self._fetcher.fetch(url)
        except HTTPStatusError as exc:
            if 400 <= exc.status < 500 and exc.status != 429:
                # No robots.txt (or a 4xx for it): everything is allowed, as Google reads it.
                return _Entry(Protego.parse(""), now + self._ttl)
            return _Entry(None, now + ERROR_TTL_S)
        except FetchError:
            return _Entry(None, now + ERROR_TTL_S)  # unreachable: ask again later, fetch nothing
        text = result.body.decode("utf-8", errors="replace")
        return _Entry(Protego.parse(text), now + self._ttl)

    async def allowed(self, url: str) -> bool:
        rules = await self._rules(url)
        return rules is not None and bool(rules.can_fetch(url, ROBOTS_AGENT))

    async def sitemaps(self, url: str) -> list[str]:
        """The `Sitemap:` lines of the host's robots.txt."""
        rules = await self._rules(url)
        return list(rules.sitemaps) if rules is not None else []
