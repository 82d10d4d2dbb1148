"""Delivery channels of the notifier: signed webhooks and email, with retries and backoff.

A webhook is a JSON POST with ``X-Rasad-Idempotency-Key`` (receivers dedupe on it),
``X-Rasad-Timestamp`` and, when the alert has a secret, ``X-Rasad-Signature:
sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`` (the timestamp inside the signature lets a
receiver refuse replayed requests). Redirects are not followed (a redirect could point inside
the network), every connection goes through :class:`~indexers.alerts.webhook_guard.GuardedResolver`,
requests have a deadline and at most ``alert_webhook_max_response_bytes`` of an answer is read.

Email goes through the standard library's smtplib in a worker thread (it blocks).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import smtplib
import ssl
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import aiohttp
import orjson
from prometheus_client import Counter

from indexers.alerts.store import Alert
from indexers.alerts.webhook_guard import AllowList, GuardedResolver, WebhookRefused, parse_url
from rasad.core import backoff
from rasad.core.settings import Settings

SIGNATURE_HEADER = "X-Rasad-Signature"
TIMESTAMP_HEADER = "X-Rasad-Timestamp"
KEY_HEADER = "X-Rasad-Idempotency-Key"
EVENT_HEADER = "X-Rasad-Event"
USER_AGENT = "Rasad-Alerts/0.1"
# Statuses worth retrying: the receiver is busy, restarting or timed out; other 4xx will not
# change by asking again.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# Open connections to webhook receivers at once: many alerts may point at one slow receiver.
CONNECTION_LIMIT = 100
# Characters of a failed answer kept in the error message and the dead letter.
ERROR_SNIPPET = 200

ATTEMPTS = Counter(
    "rasad_alert_delivery_attempts_total",
    "Delivery attempts, by channel and result (ok, retry, refused).",
    ["channel", "result"],
)


class DeliveryFailed(Exception):
    """One attempt failed; ``permanent`` means retrying will not help (go to dead letters)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """For receivers (and tests): does the signature header match, in constant time?"""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def email_text(payload: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of an alert email."""
    alert = payload["alert"]["name"]
    if payload["event"] == "alert.digest":
        lines = [f"- {a['title']} ({a.get('source_name') or ''})\n  {a['url']}"
                 for a in payload["articles"]]  # fmt: skip
        more = payload["count"] - len(lines)
        if more > 0:
            lines.append(f"… and {more} more")
        return f"[Rasad] {alert}: {payload['count']} more articles", "\n".join(lines)
    article = payload["article"]
    body = f"{article['title']}\n{article['source']['name']} · {article['published_at']}\n"
    return f"[Rasad] {alert}: {article['title']}", body + article["url"]


class Channels:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._allow = AllowList.parse(settings.alert_webhook_allow)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _backoff(self) -> Iterator[float]:
        s = self._settings
        return backoff.delays(s.alert_backoff_initial_s, s.alert_backoff_max_s)

    async def send(self, alert: Alert, key: str, payload: dict[str, Any]) -> tuple[int, list[str]]:
        """Deliver on every channel of the alert, retrying failures; (attempts, final errors).

        Zero attempts means the alert has no channel (its hits are history only)."""
        pending = [c for c, on in (("webhook", alert.webhook_url), ("email", alert.email_to)) if on]
        if not pending:
            return 0, []
        errors: dict[str, str] = {}
        delays = self._backoff()
        attempt = 0
        while pending and attempt < self._settings.alert_delivery_attempts:
            if attempt:
                await asyncio.sleep(next(delays))
            attempt += 1
            for channel in list(pending):
                try:
                    if channel == "webhook":
                        await self.webhook(alert, key, payload)
                    else:
                        await self.email(alert, key, payload)
                except DeliveryFailed as exc:
                    ATTEMPTS.labels(channel, "refused" if exc.permanent else "retry").inc()
                    errors[channel] = f"{channel}: {exc}"
                    if exc.permanent:
                        pending.remove(channel)
                    continue
                ATTEMPTS.labels(channel, "ok").inc()
                errors.pop(channel, None)
                pending.remove(channel)
        return attempt, list(errors.values())

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            s = self._settings
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    resolver=GuardedResolver(self._allow), limit=CONNECTION_LIMIT
                ),
                timeout=aiohttp.ClientTimeout(
                    total=s.alert_webhook_timeout_s, sock_connect=s.alert_webhook_connect_timeout_s
                ),
                # Environment proxies would move the connection out of the guard's sight.
                trust_env=False,
            )
        return self._session

    async def webhook(self, alert: Alert, key: str, payload: dict[str, Any]) -> None:
        url = alert.webhook_url or ""
        body = orjson.dumps(payload)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            KEY_HEADER: key,
            EVENT_HEADER: str(payload["event"]),
            TIMESTAMP_HEADER: timestamp,
        }
        if alert.webhook_secret is not None:
            headers[SIGNATURE_HEADER] = sign(
                alert.webhook_secret.get_secret_value(), timestamp, body
            )
        try:
            parse_url(url, self._allow)
            async with self._client().post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                answer = await response.content.read(
                    self._settings.alert_webhook_max_response_bytes
                )
                status = response.status
        except WebhookRefused as exc:
            raise DeliveryFailed(str(exc), permanent=True) from None
        except TimeoutError:
            raise DeliveryFailed(
                f"no answer within {self._settings.alert_webhook_timeout_s} s"
            ) from None
        except aiohttp.ClientError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from None
        if 200 <= status < 300:
            return
        snippet = answer[:ERROR_SNIPPET].decode("utf-8", "replace")
        if 300 <= status < 400:
            raise DeliveryFailed(f"answered {status}; redirects are not followed", permanent=True)
        raise DeliveryFailed(
            f"answered {status}: {snippet!r}", permanent=status not in RETRYABLE_STATUSES
        )

    async def email(self, alert: Alert, key: str, payload: dict[str, Any]) -> None:
        subject, text = email_text(payload)
        message = EmailMessage()
        message["From"] = self._settings.alert_smtp_from
        message["To"] = ", ".join(alert.email_to)
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain="rasad")
        message[KEY_HEADER] = key
        # base64: left alone, the email package sends short Arabic lines as raw 8-bit, which
        # smtplib does not declare (BODY=8BITMIME), and servers may refuse or mangle it.
        message.set_content(text, cte="base64")
        try:
            await asyncio.to_thread(self._smtp_send, message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            raise DeliveryFailed(f"SMTP refused: {exc}", permanent=True) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryFailed(f"SMTP login refused ({exc.smtp_code})", permanent=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP: {type(exc).__name__}: {exc}") from None

    def _smtp_send(self, message: EmailMessage) -> None:
        s = self._settings
        if not s.alert_smtp_host:
            raise smtplib.SMTPSenderRefused(0, b"no SMTP server configured", s.alert_smtp_from)
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.alert_smtp_tls == "tls":
            smtp = smtplib.SMTP_SSL(
                s.alert_smtp_host, s.alert_smtp_port, timeout=s.alert_smtp_timeout_s,
                context=context,
            )  # fmt: skip
        else:
            smtp = smtplib.SMTP(
                s.alert_smtp_host, s.alert_smtp_port, timeout=s.alert_smtp_timeout_s
            )
        with smtp:
            if s.alert_smtp_tls == "starttls":
                smtp.starttls(context=context)
            if s.alert_smtp_user:
                password = s.alert_smtp_password.get_secret_value() if s.alert_smtp_password else ""
                smtp.login(s.alert_smtp_user, password)
            smtp.send_message(message)
