"""Retry delays shared by every stage that waits out an unreachable server."""

from __future__ import annotations

import random
from collections.abc import Iterator


def delays(initial_s: float, max_s: float) -> Iterator[float]:
    """Exponential delays from ``initial_s``, doubling up to ``max_s``, each with jitter.

    Jitter (each delay drawn from its upper half) spreads the retries of many workers so they
    do not hit a recovering server in lockstep.
    """
    delay = initial_s
    while True:
        yield delay * random.uniform(0.5, 1.0)
        delay = min(delay * 2, max_s)
