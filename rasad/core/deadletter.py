"""The one dead-letter envelope every stage writes to ``<topic>.dlq``.

A producer, the enrichment agent, the indexer sink and the notifier all describe a message
they cannot handle the same way: the topic it was bound for or read from, its key and original
bytes (base64: the original may not be UTF-8, and one JSON value is easy to inspect and replay),
the error, the stage that gave up, when, and after how many attempts. Where the message was
read from Kafka, its partition and offset say exactly which one it was.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict


class DeadLetter(BaseModel):
    """The value of a dead-letter message; its Kafka key is the original key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str
    topic: str
    key_b64: str | None
    value_b64: str
    error_type: str
    error: str
    failed_at: AwareDatetime
    attempts: int = 1
    partition: int | None = None
    offset: int | None = None
    origin: str | None = None

    @classmethod
    def of(
        cls,
        stage: str,
        topic: str,
        key: bytes | None,
        value: bytes,
        error: BaseException | str,
        *,
        attempts: int = 1,
        partition: int | None = None,
        offset: int | None = None,
        origin: str | None = None,
    ) -> DeadLetter:
        """The envelope of ``value`` (and ``key``) that failed at ``stage`` with ``error``: an
        exception (its type is recorded) or a refusal's reason (recorded as ``Refused``)."""
        return cls(
            stage=stage,
            topic=topic,
            key_b64=base64.b64encode(key).decode() if key is not None else None,
            value_b64=base64.b64encode(value).decode(),
            error_type="Refused" if isinstance(error, str) else type(error).__name__,
            error=error if isinstance(error, str) else str(error),
            failed_at=datetime.now(UTC),
            attempts=attempts,
            partition=partition,
            offset=offset,
            origin=origin,
        )

    @property
    def key(self) -> bytes | None:
        return base64.b64decode(self.key_b64) if self.key_b64 is not None else None

    @property
    def value(self) -> bytes:
        """The original message, byte for byte."""
        return base64.b64decode(self.value_b64)

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_json(cls, data: bytes) -> DeadLetter:
        return cls.model_validate_json(data)


# How a stage hands a dead letter to whoever publishes it (the wiring, or a test).
SendDeadLetter = Callable[[DeadLetter], Awaitable[None]]
