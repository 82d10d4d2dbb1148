"""Webhook URL guard: an alert must not become a way to reach internal services (SSRF).

A webhook URL must be http(s) with a host and no credentials, and every address its host
resolves to must be public: loopback, private, link-local, multicast, reserved and unspecified
addresses are refused unless the ``alert_webhook_allow`` setting names the host, the address or
a network containing it. The check runs twice: when the alert is saved (:func:`validate_url`,
so the analyst hears about it at once) and again at connect time, by :class:`GuardedResolver`
inside the HTTP client, so a name that resolved to a public address at creation and to 127.0.0.1
later (DNS rebinding) is refused on the very addresses the client would connect to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# URLs longer than this are not webhooks; the cap bounds what we store and log.
MAX_URL_CHARS = 2048


class WebhookRefused(ValueError):
    """A webhook URL that is malformed or would reach a refused address; says which and why."""


@dataclass(frozen=True)
class AllowList:
    """Hosts (lower-cased names) and networks a webhook may reach although they are internal."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, setting: str) -> AllowList:
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in setting.split(","):
            entry = raw.strip().strip("[]").lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        return any(address in net for net in self.networks if net.version == address.version)


# NAT64 prefixes whose last 32 bits are an IPv4 address: the well-known one (RFC 6052) and the
# local-use one (RFC 8215); a NAT64 gateway on the path turns them into that IPv4 address.
NAT64_NETWORKS = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
)
# IPv4-compatible (::a.b.c.d, RFC 4291, deprecated) and IPv4-translated (::ffff:0:a.b.c.d,
# RFC 2765) addresses: IPv4 in the last 32 bits.
EMBEDDING_NETWORKS = (
    ("IPv4-compatible", ipaddress.IPv6Network("::/96")),
    ("IPv4-translated", ipaddress.IPv6Network("::ffff:0:0:0/96")),
)


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address carries, each with the name of its form: a transition
    mechanism on the path may deliver the packet to that IPv4 address."""
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if address.ipv4_mapped is not None:
        found.append(("IPv4-mapped", address.ipv4_mapped))
    if address.sixtofour is not None:
        found.append(("6to4", address.sixtofour))
    if address.teredo is not None:
        server, client = address.teredo
        found += [("Teredo", server), ("Teredo", client)]
    last32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if any(address in net for net in NAT64_NETWORKS):
        found.append(("NAT64", last32))
    for form, net in EMBEDDING_NETWORKS:
        if address in net and int(address) > 1:  # :: and ::1 are themselves, not IPv4
            found.append((form, last32))
    return found


def refusal_reason(address: IPAddress) -> str | None:
    """Why an address is internal, or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        for form, inner in embedded_ipv4(address):
            reason = _ipv4_reason(inner)
            if reason:
                return f"{reason} ({form} {inner})"
    return _ipv4_reason(address)


def _ipv4_reason(address: IPAddress) -> str | None:
    for reason, flag in (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if flag:
            return reason
    # Shared address space (100.64/10, carrier-grade NAT) is neither private nor global.
    if not address.is_global:
        return "not globally routable"
    return None


def _check_address(host: str, address: IPAddress, allow: AllowList) -> None:
    reason = refusal_reason(address)
    if reason and not (allow.allows_host(host) or allow.allows_address(address)):
        shown = host if host == str(address) else f"{host} ({address})"
        raise WebhookRefused(
            f"webhook host {shown} is a {reason} address; internal addresses are refused "
            "unless the alert_webhook_allow setting names them"
        )


def parse_url(url: str, allow: AllowList) -> str:
    """Check the URL's form (and its address when the host is an IP literal); returns the host.

    No I/O: this runs before every delivery too; host names are checked by the resolver.
    """
    if len(url) > MAX_URL_CHARS:
        raise WebhookRefused(f"webhook URL is longer than {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError as exc:
        raise WebhookRefused(f"webhook URL is malformed: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise WebhookRefused(f"webhook URL must start with http:// or https://, not {url[:40]!r}")
    host = parts.hostname
    if not host:
        raise WebhookRefused("webhook URL has no host")
    if parts.username or parts.password:
        raise WebhookRefused(
            "webhook URL must not carry a user or password; use the alert's signing secret"
        )
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        _check_address(host, literal, allow)
    return host


async def validate_url(url: str, allow: AllowList) -> None:
    """Full check when an alert is saved: the form, then every address the host resolves to."""
    host = parse_url(url, allow)
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise WebhookRefused(
            f"webhook host {host} does not resolve: {exc.strerror or exc}"
        ) from None
    for info in infos:
        _check_address(host, ipaddress.ip_address(info[4][0]), allow)


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that refuses internal addresses at connect time (DNS rebinding).

    aiohttp never asks the resolver about IP-literal hosts; :func:`parse_url` checks those
    before each delivery. If any address of a name is refused the whole name is refused: a
    name that mixes public and internal addresses is an attack or a misconfiguration.
    """

    def __init__(self, allow: AllowList, resolver: AbstractResolver | None = None) -> None:
        self._allow = allow
        self._resolver = resolver or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            _check_address(host, ipaddress.ip_address(result["host"]), self._allow)
        return results

    async def close(self) -> None:
        await self._resolver.close()
