"""A realistic Arabic news site on 127.0.0.1, for discovery, checks, sitemaps and robots.txt.

Its text is the recorded nabdsharqi feed (../shared/data): the homepage links its feeds the way
Arabic CMSs do, robots.txt names the sitemap index and keeps /private/ out, the index lists one
news sitemap in UTF-8 and one in windows-1256, and around it the ways real sites go wrong: a
bot challenge, a redirect chain, a 410, a slow feed, and hostile sitemaps.
"""

from __future__ import annotations

import asyncio
import gzip
import html
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

import feedparser
from aiohttp import web

from tests.producers_fixtures import NABD, FeedServer, Handler, static

RSS = (NABD / "feed.xml").read_bytes()  # recorded in 2015: a stale feed today
ATOM = (NABD / "atom.xml").read_bytes()
ITEMS = feedparser.parse(RSS).entries
# Cap of the fetcher in these tests (1 MB): the huge sitemap is past it.
CAP = 1_000_000
CHALLENGE = (
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    b"<div id='challenge-platform'></div><script src='/cdn-cgi/challenge-platform/h/g'>"
    b"</script></body></html>"
)
HOME = """<!DOCTYPE html>
<html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>نبض شرقي - الرئيسية</title>
<link rel="alternate" type="application/rss+xml" title="نبض شرقي &raquo; الخلاصة" href="/feed.xml">
<link rel="alternate" type="application/atom+xml" title="نبض شرقي - أتوم" href="{base}/atom.xml">
<link rel="alternate" hreflang="en" href="/en/">
</head><body><header><nav><a href="/">الرئيسية</a> | <a href="/culture/">ثقافة</a></nav></header>
<main>{links}</main></body></html>"""
ROBOTS = """User-agent: *
Disallow: /private/
Disallow: /search

Sitemap: {base}/sitemap_index.xml
"""
INDEX = """<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{base}/news-sitemap.xml</loc></sitemap>
<sitemap><loc>{base}/news-sitemap-1256.xml</loc></sitemap>
</sitemapindex>"""
URLSET = """<?xml version="1.0" encoding="{encoding}"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
{urls}
</urlset>"""
URL = """<url><loc>{loc}</loc><news:news>
<news:publication><news:name>نبض شرقي</news:name>
<news:language>ar</news:language></news:publication>
<news:publication_date>{date}</news:publication_date><news:title>{title}</news:title>
<news:keywords>{keywords}</news:keywords></news:news></url>"""
ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&lol3;</loc></url></urlset>"""


def page(n: int) -> bytes:
    """Article n: its title and the feed's text as paragraphs, in a page's usual chrome."""
    item = ITEMS[n]
    return (
        '<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8">'
        f"<title>{html.escape(item.title)}</title></head><body><nav>الرئيسية | ثقافة</nav>"
        f"<article><h1>{html.escape(item.title)}</h1>{item.summary}</article>"
        "<footer>جميع الحقوق محفوظة</footer></body></html>"
    ).encode()


def urlset(base: str, numbers: range, encoding: str, now: datetime) -> bytes:
    urls = "\n".join(
        URL.format(
            loc=f"{base}/news/{n}.html" if n else f"{base}/private/0.html",
            date=(now - timedelta(hours=n + 1)).isoformat(timespec="seconds"),
            title=html.escape(ITEMS[n].title),
            keywords="نبض شرقي, ثقافة",
        )
        for n in numbers
    )
    return URLSET.format(encoding=encoding, urls=urls).encode(encoding)


def fresh_rss(now: datetime) -> bytes:
    """The recorded feed with today's dates: an ok feed."""
    stamp = now.strftime("%a, %d %b %Y %H:%M:%S +0000").encode()
    out = RSS
    for item in ITEMS:
        out = out.replace(item.published.encode(), stamp)
    return out


@cache
def gzip_bomb() -> bytes:
    """100 MB of zeros in ~100 KB: a .xml.gz that explodes past the protocol's 50 MB."""
    return gzip.compress(b"\0" * 100_000_000, 9)


@dataclass
class NewsSite:
    server: FeedServer

    def url(self, path: str) -> str:
        return self.server.url(path)

    def fetched(self, path: str) -> int:
        return sum(1 for r in self.server.requests if r.path == path)


async def serve_site(server: FeedServer, now: datetime | None = None) -> NewsSite:
    """Mount every route of the site on a started server."""
    now = now or datetime.now(UTC)
    base = server.url("")
    links = "".join(
        f'<a href="/news/{n}.html">{html.escape(i.title)}</a>' for n, i in enumerate(ITEMS)
    )
    r = server.routes
    r["/"] = static(HOME.format(base=base, links=links).encode(), "text/html; charset=utf-8")
    r["/robots.txt"] = static(ROBOTS.format(base=base).encode(), "text/plain")
    r["/feed.xml"] = static(fresh_rss(now))
    r["/atom.xml"] = static(ATOM, "application/atom+xml")
    r["/stale.xml"] = static(RSS)
    r["/empty.xml"] = static(
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>'
    )
    r["/sitemap_index.xml"] = static(INDEX.format(base=base).encode(), "application/xml")
    r["/news-sitemap.xml"] = tagged(urlset(base, range(0, 4), "utf-8", now), "application/xml")
    r["/news-sitemap-1256.xml"] = tagged(
        urlset(base, range(4, 7), "windows-1256", now), "application/xml; charset=windows-1256"
    )
    for n in range(len(ITEMS)):
        r[f"/news/{n}.html"] = static(page(n), "text/html; charset=utf-8")
    r["/private/0.html"] = static(page(0), "text/html; charset=utf-8")
    r["/challenge.xml"] = static(CHALLENGE, "text/html", **{"cf-mitigated": "challenge"})
    r["/challenge-200.xml"] = static(CHALLENGE, "text/html")
    r["/old-feed"] = redirect(301, "/moving")
    r["/moving"] = redirect(302, "/feed.xml")
    r["/retired.xml"] = status(410)
    r["/slow.xml"] = slow(fresh_rss(now), seconds=1.5)
    r["/huge-sitemap.xml"] = static(
        b"<urlset>" + b" " * (CAP * 2) + b"</urlset>", "application/xml"
    )
    r["/bomb-sitemap.xml.gz"] = static(gzip_bomb(), "application/x-gzip")
    r["/entities-sitemap.xml"] = static(ENTITY_BOMB, "application/xml")
    return NewsSite(server)


def tagged(body: bytes, content_type: str) -> Handler:
    """A body with an ETag, answered 304 when the client already has it."""
    etag = f'"{zlib.crc32(body):x}"'

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, headers={"Content-Type": content_type, "ETag": etag})

    return handler


def redirect(code: int, to: str) -> Handler:
    async def handler(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=code, headers={"Location": to})

    return handler


def status(code: int) -> Handler:
    async def handler(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=code, text="gone for good")

    return handler


def slow(body: bytes, seconds: float) -> Handler:
    async def handler(_request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return web.Response(body=body, content_type="application/rss+xml")

    return handler
