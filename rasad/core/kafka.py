"""Connection settings for Kafka clients (kafka-python, aiokafka, Faust) from one Settings."""

from __future__ import annotations

import ssl
from typing import Any

from rasad.core.settings import Settings


def bootstrap_servers(settings: Settings) -> list[str]:
    return [s.strip() for s in settings.kafka_bootstrap_servers.split(",") if s.strip()]


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """A TLS context when the protocol uses SSL; None for plaintext."""
    if "SSL" not in settings.kafka_security_protocol:
        return None
    ctx = ssl.create_default_context(
        cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
    )
    if settings.kafka_ssl_certfile:
        ctx.load_cert_chain(
            str(settings.kafka_ssl_certfile),
            str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
        )
    return ctx


def client_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments shared by kafka-python and aiokafka clients (same names in both)."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers(settings),
        "security_protocol": settings.kafka_security_protocol,
    }
    context = ssl_context(settings)
    if context is not None:
        config["ssl_context"] = context
    if settings.kafka_sasl_mechanism:
        config["sasl_mechanism"] = settings.kafka_sasl_mechanism
        config["sasl_plain_username"] = settings.kafka_sasl_username
        config["sasl_plain_password"] = (
            settings.kafka_sasl_password.get_secret_value()
            if settings.kafka_sasl_password
            else None
        )
    return config
