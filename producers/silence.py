"""Which outlets have fallen silent: no news from any of their sources for several usual gaps.

Silence belongs to an outlet, not to a source. An outlet's feed and its news sitemap mostly
carry the same stories, and only the source polled first finds them new (the rest are
duplicates), so one source can look silent for days while the outlet publishes as usual
through another. An outlet is silent when every enabled source of it that can still bring
news is silent (:meth:`FeedHealth.is_silent`); a dead source is shown as dead and does not
count, a source never polled keeps its outlet from being called silent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from producers.registry import FeedSpec
from producers.state import FeedHealth


def silent_outlets(
    sources: Iterable[FeedSpec], health: Mapping[str, FeedHealth], now: datetime, factor: float
) -> set[str]:
    """Ids of the outlets whose every enabled, not dead source is silent (at least one)."""
    quiet: dict[str, bool] = {}
    for source in sources:
        h = health.get(source.id)
        if not source.enabled or (h is not None and h.state == "dead"):
            continue
        silent = h is not None and h.is_silent(now, factor)
        quiet[source.outlet_id] = quiet.get(source.outlet_id, True) and silent
    return {outlet for outlet, silent in quiet.items() if silent}


def shows_silent(source: FeedSpec, health: FeedHealth | None, silent: set[str]) -> bool:
    """Whether a source's row says silent: its outlet is, and it is one of the quiet sources."""
    return (
        source.enabled
        and source.outlet_id in silent
        and health is not None
        and health.state != "dead"
    )
