"""The sink contract every stage that writes out follows: ``add()``, ``flush()``, ``close()``.

The wiring feeds a sink the messages of a batch with ``add()`` and lets Kafka commit their
offsets only after ``flush()`` returns: by then each message has reached a final outcome
(written, a known duplicate, dead-lettered...). ``add()`` may flush by itself when the sink's
batch is due and then returns that flush's result. ``close()`` flushes what is left and
releases what the sink owns. The index sink and the notifier both implement it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

T_contra = TypeVar("T_contra", contravariant=True)


@dataclass
class FlushResult:
    """What one flush did: a count per outcome, and the reasons of the dead letters."""

    outcomes: Counter[str] = field(default_factory=Counter)
    reasons: list[str] = field(default_factory=list)
    # Ids of items a newer version already held (a reprocess reports them per article).
    stale_ids: list[str] = field(default_factory=list)

    def add(self, outcome: str, n: int = 1) -> None:
        self.outcomes[outcome] += n

    def __getitem__(self, outcome: str) -> int:
        return self.outcomes[outcome]


class Sink(Protocol[T_contra]):
    async def add(self, item: T_contra) -> FlushResult | None:
        """Buffer one item; flush (and return its result) when the batch is due."""
        ...

    async def flush(self) -> FlushResult:
        """Bring every buffered item to a final outcome."""
        ...

    async def close(self) -> None:
        """Flush what is left and release what the sink owns."""
        ...
