"""Feed health for the dashboard: the producer's persisted state joined with the registry.

Both reads are small blocking file reads (SQLite, YAML); routes call this in a thread.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from producers.registry import FeedSpec, Outlet, load_outlets
from producers.state import read_feed_health
from rasad.core.settings import Settings

# The producer's states folded into the ones the dashboard colours; "silent" (an outlet that
# stopped publishing, see FeedHealth.is_silent) is computed here, not stored.
_SHOWN = {
    "ok": "ok",
    "not_modified": "ok",
    "new": "unknown",
    "failing": "failing",
    "dead": "dead",
    "disabled": "disabled",
}


def feed_health(settings: Settings) -> list[dict[str, Any]]:
    """One row per source (and per outlet without one), by outlet: state (silent when its news
    stopped), verdict, last success and last error (never secrets)."""
    health = read_feed_health(settings.data_dir / settings.producer_state_path)
    now = datetime.now(UTC)
    rows = []
    for spec in _sources_or_outlets():
        if not isinstance(spec, FeedSpec):
            rows.append(_no_source(spec))
            continue
        h = health.get(spec.id)
        silent = (
            spec.enabled and h is not None and h.is_silent(now, settings.producer_silent_factor)
        )
        rows.append(
            {
                "source_id": spec.id,
                "outlet": spec.outlet_id,
                "type": spec.type,
                "name": spec.name,
                "country": spec.country,
                "enabled": spec.enabled,
                "state": "silent"
                if silent
                else _SHOWN.get(h.state, "unknown")
                if h
                else ("disabled" if not spec.enabled else "unknown"),
                "verdict": h.verdict if h else None,
                "last_new": h.last_new.isoformat() if h and h.last_new else None,
                "detail": h.state if h else None,
                "last_success": h.last_success.isoformat() if h and h.last_success else None,
                "last_poll": h.last_poll.isoformat() if h and h.last_poll else None,
                "last_error": h.last_error if h else None,
                "consecutive_failures": h.consecutive_failures if h else 0,
                "interval_s": h.interval_s if h else spec.interval,
            }
        )
    return rows


def _sources_or_outlets() -> list[FeedSpec | Outlet]:
    """Every source in file order, and in its place an outlet that has none."""
    listed: list[FeedSpec | Outlet] = []
    for outlet in load_outlets():
        listed += outlet.specs() or [outlet]
    return listed


def _no_source(outlet: Outlet) -> dict[str, Any]:
    """An outlet without a feed or sitemap is listed too, so nobody forgets it."""
    return {
        "source_id": outlet.id,
        "outlet": outlet.id,
        "type": None,
        "name": outlet.name.ar,
        "country": outlet.country,
        "enabled": False,
        "state": "no-source",
        "verdict": None,
        "last_new": None,
        "detail": outlet.note,
        "last_success": None,
        "last_poll": None,
        "last_error": None,
        "consecutive_failures": 0,
        "interval_s": outlet.interval,
    }
