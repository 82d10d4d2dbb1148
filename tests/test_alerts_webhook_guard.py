"""An alert's webhook cannot reach internal services: refused at creation and at connect time."""

from __future__ import annotations

import re
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from indexers.alerts.delivery import Channels, DeliveryFailed
from indexers.alerts.model import Alert
from indexers.alerts.webhook_guard import AllowList, GuardedResolver, WebhookRefused, validate_url
from rasad.core.settings import Settings

NOTHING = AllowList()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9200/_cluster/settings", "loopback"),
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.1.1/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]:8080/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        # IPv6 transition and embedding forms that carry an internal IPv4 address
        ("http://[2002:7f00:1::]/hook", r"loopback \(6to4 127.0.0.1\)"),
        ("http://[2002:a9fe:a9fe::1]/hook", r"link-local \(6to4 169.254.169.254\)"),
        ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", r"loopback \(Teredo 127.0.0.1\)"),
        ("http://[64:ff9b::7f00:1]/hook", r"loopback \(NAT64 127.0.0.1\)"),
        ("http://[64:ff9b:1::a00:1]/hook", r"private \(NAT64 10.0.0.1\)"),
        ("http://[::127.0.0.1]/hook", r"loopback \(IPv4-compatible 127.0.0.1\)"),
        ("http://[::ffff:0:a00:1]/hook", r"private \(IPv4-translated 10.0.0.1\)"),
        ("http://[::ffff:a9fe:a9fe]/hook", r"link-local \(IPv4-mapped 169.254.169.254\)"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://localhost:6066/metrics", "loopback"),
        ("ftp://example.com/hook", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("http://user:pw@example.com/hook", "user or password"),
        ("https:///no-host", "no host"),
    ],
)
async def test_internal_or_malformed_webhook_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(WebhookRefused, match=reason):
        await validate_url(url, NOTHING)


@pytest.mark.parametrize(
    ("url", "allow"),
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1"),
        ("http://10.1.2.3/hook", "10.0.0.0/8"),
        ("http://[::1]:8080/hook", "::1"),
        ("http://localhost:8080/hook", "localhost"),
    ],
)
async def test_an_allow_list_entry_lets_a_named_internal_receiver_through(
    url: str, allow: str
) -> None:
    await validate_url(url, AllowList.parse(allow))


async def test_a_public_address_is_accepted() -> None:
    await validate_url("https://93.184.215.14/hook", NOTHING)


async def test_a_6to4_address_of_a_public_ipv4_is_accepted() -> None:
    await validate_url("http://[2002:5db8:d70e::1]/hook", NOTHING)  # 93.184.215.14


class Rebinding(AbstractResolver):
    """A DNS answer that changed after the alert was saved (DNS rebinding)."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [ResolveResult(hostname=host, host="127.0.0.1", port=port, family=family,
                              proto=0, flags=socket.AI_NUMERICHOST)]  # fmt: skip

    async def close(self) -> None:
        return None


async def test_the_connect_time_resolver_refuses_a_name_that_now_points_inside() -> None:
    with pytest.raises(
        WebhookRefused, match=re.escape("hooks.example.org (127.0.0.1) is a loopback")
    ):
        await GuardedResolver(NOTHING, Rebinding()).resolve("hooks.example.org", 443)


async def test_delivery_to_a_refused_address_fails_permanently_without_a_request() -> None:
    settings = Settings(alert_webhook_allow="")
    channels = Channels(settings)
    alert = Alert.model_validate(
        {"id": "a1", "name": "x", "query": "x", "webhook_url": "http://localhost:9/hook",
         "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"}
    )  # fmt: skip
    try:
        with pytest.raises(DeliveryFailed, match="loopback") as failure:
            await channels.webhook(alert, "a1:article:x", {"event": "alert.hit"})
    finally:
        await channels.close()
    assert failure.value.permanent
