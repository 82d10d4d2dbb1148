"""An alert hit on a real corpus article reaches a real SMTP server on 127.0.0.1 as one
UTF-8 email, through the notifier and its idempotency ledger: a redelivered hit sends nothing."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from indexers.alerts import matcher
from indexers.alerts import store as alerts
from indexers.alerts.delivery import KEY_HEADER
from indexers.alerts.notify import Notifier
from indexers.alerts.store import AlertSpec
from rasad.core.article import EnrichedArticle
from rasad.core.deadletter import DeadLetter
from rasad.core.engine.client import Engine
from rasad.core.settings import Settings
from tests.alerts_fixtures import alert_settings, text_of
from tests.index_fixtures import engine, has_word, raw_corpus, to_enriched

__all__ = ["alert_settings", "engine"]

ANALYST = "analyst@newsroom.example"
SENDER = "alerts@rasad.example"
WORD = "ترامب"
# A body line longer than this many bytes makes Python's email package pick base64 by itself;
# an article whose title and URL fit is the case it would otherwise send as raw 8-bit.
LINE_BYTES = 78
# The first such article with the word is record 6558 (BBC Arabic); reading all 31k records
# would only slow the test down.
CORPUS_HEAD = 7000


class Inbox:
    """aiosmtpd handler: keeps every accepted envelope (it runs on the server's thread)."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        raw = [e.original_content or b"" for e in self.envelopes]
        return [message_from_bytes(r, _class=EmailMessage, policy=policy.default) for r in raw]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = _free_port()
    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    yield handler, port
    server.stop()


@pytest.fixture
async def email_settings(alert_settings: Settings, inbox: tuple[Inbox, int]) -> Settings:
    # Plain SMTP is acceptable only because the server is on loopback.
    return alert_settings.model_copy(
        update={"alert_smtp_host": "127.0.0.1", "alert_smtp_port": inbox[1],
                "alert_smtp_tls": "none", "alert_smtp_from": SENDER}
    )  # fmt: skip


@pytest.fixture
def article() -> EnrichedArticle:
    def fits(raw: dict[str, Any]) -> bool:
        return max(len(raw["title"].encode()), len(raw["url"].encode())) <= LINE_BYTES

    raw = next(r for r in raw_corpus(CORPUS_HEAD) if has_word(text_of(r), WORD) and fits(r))
    return to_enriched(raw)


@pytest.fixture
async def email_alert(engine: Engine, email_settings: Settings) -> AsyncIterator[alerts.Alert]:
    yield await alerts.create_alert(
        engine, email_settings, AlertSpec(name="ترامب", query=WORD, email_to=[ANALYST])
    )


async def _nowhere(letter: DeadLetter) -> None:
    raise AssertionError("nothing should be dead-lettered")


async def _deliver(settings: Settings, message: bytes, times: int) -> list[dict[str, Any]]:
    """One notifier lifetime that sees ``message`` in ``times`` separate batches."""
    notifier = Notifier(settings, _nowhere)
    try:
        outcomes: list[dict[str, Any]] = []
        for _ in range(times):
            await notifier.add(message)
            outcomes.append(dict((await notifier.flush()).outcomes))
        return outcomes
    finally:
        await notifier.close()


async def test_a_hit_is_emailed_once_in_utf8_and_redeliveries_send_nothing(
    engine: Engine,
    email_settings: Settings,
    inbox: tuple[Inbox, int],
    email_alert: alerts.Alert,
    article: EnrichedArticle,
) -> None:
    hits = await matcher.percolate(engine, email_settings, [article])
    assert [h.alert_id for h in hits] == [email_alert.id]
    message = hits[0].to_json()

    assert await _deliver(email_settings, message, 2) == [{"delivered": 1}, {"duplicate": 1}]
    assert await _deliver(email_settings, message, 1) == [{"duplicate": 1}]  # after a restart

    server, _ = inbox
    assert len(server.envelopes) == 1
    envelope = server.envelopes[0]
    assert envelope.mail_from == SENDER and envelope.rcpt_tos == [ANALYST]
    # RFC 5321: without BODY=8BITMIME in MAIL FROM the data must be 7-bit.
    assert (envelope.original_content or b"").isascii()
    [mail] = server.messages()
    assert mail["From"] == SENDER and mail["To"] == ANALYST
    assert mail[KEY_HEADER] == f"{email_alert.id}:article:{article.id}"
    assert mail["Subject"] == f"[Rasad] ترامب: {article.title}"
    assert mail.get_content_charset() == "utf-8"
    body = mail.get_content()
    assert article.title in body and article.url in body
    assert article.source.name in body
