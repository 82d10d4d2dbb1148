"""Canonical URLs and the stable article id derived from them (pure functions).

Two links to one story must give one id: the feed's percent-encoded Arabic link and the page's
raw-Unicode one, http and https, ``www.``/``m.``/``amp.`` hosts, AMP paths, tracking parameters
and parameter order all fold away. :func:`canonicalize` is idempotent.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

# 32 hex chars = 128 bits: collision-free for any number of articles we will ever see,
# and short enough to read in logs and use as a Kafka key.
ID_HEX_CHARS = 32

_HOST_PREFIXES = ("www.", "m.", "amp.", "mobile.")
_TRACKING_EXACT = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "ocid",
        "amp",
        "outputtype",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters left unescaped in a path segment / query: RFC 3986 unreserved + sub-delims.
_SEGMENT_SAFE = "!$&'()*+,;=:@-._~"
_QUERY_SAFE = "!$'()*,;:@/?-._~"


def _is_tracking(key: str) -> bool:
    low = key.lower()
    return low.startswith("utm_") or low in _TRACKING_EXACT


def _fold_host(host: str) -> str:
    host = host.lower().rstrip(".")
    changed = True
    while changed:
        changed = False
        for prefix in _HOST_PREFIXES:
            rest = host[len(prefix) :]
            if host.startswith(prefix) and "." in rest:
                host, changed = rest, True
    return host


def _fold_path(path: str) -> str:
    # Stray spaces around a segment come from feeds' sloppy links (and from a query appended
    # after them), never from meaning.
    segments = [quote(unquote(s).strip(), safe=_SEGMENT_SAFE) for s in path.split("/")]
    inner = segments[1:] if segments[0] == "" else segments
    while inner and inner[-1] in ("", "amp"):
        inner.pop()
    # A leading empty segment ("//x") would read back as a host when the link has none.
    while inner and inner[0] in ("", "amp"):
        inner.pop(0)
    while inner and inner[-1].endswith(".amp") and len(inner[-1]) > len(".amp"):
        inner[-1] = inner[-1][: -len(".amp")]
    return "/" + "/".join(inner)


def canonicalize(url: str) -> str:
    """The normal form of ``url`` that article ids are derived from."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "http":
        scheme = "https"
    host = _fold_host(parts.hostname or "")
    netloc = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:  # a non-numeric port: keep the rest of the link usable
        port = None
    if port is not None and port not in (_DEFAULT_PORTS.get(parts.scheme.lower()), 443):
        netloc = f"{netloc}:{port}"
    query_pairs = sorted(
        (k.strip(), v.strip())  # stray spaces around values come from copy-paste, not meaning
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.strip() and not _is_tracking(k)  # a bare "&" or "= x" names no parameter
    )
    query = urlencode(query_pairs, quote_via=quote, safe=_QUERY_SAFE)
    return urlunsplit((scheme, netloc, _fold_path(parts.path), query, ""))


def article_id(canonical_url: str) -> str:
    """Stable article id: hex SHA-256 prefix of the canonical URL."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:ID_HEX_CHARS]


def host_of(url: str) -> str:
    """Lower-cased host of ``url`` (the per-host politeness key)."""
    return (urlsplit(url).hostname or "").lower()
