"""Feed health for the dashboard: the producer's persisted state joined with the registry.

Both reads are small blocking file reads (SQLite, YAML); routes call this in a thread.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prometheus_client import Gauge

from producers.registry import FeedSpec, Outlet, load_outlets
from producers.silence import shows_silent, silent_outlets
from producers.state import FeedHealth, read_feed_health
from rasad.core.settings import Settings

# Set from the producer's persisted state each time /metrics is read, so the web server's own
# metrics say which outlets fell silent, whichever process polls them.
OUTLET_SILENT = Gauge(
    "rasad_web_outlet_silent",
    "1 for an outlet none of whose sources brought news for several usual gaps "
    "(RASAD_PRODUCER_SILENT_FACTOR), else 0; one series per outlet with a source.",
    ["outlet"],
)

# The producer's states folded into the ones the dashboard colours; "silent" (an outlet that
# stopped publishing, see producers.silence) is computed here, not stored.
_SHOWN = {
    "ok": "ok",
    "not_modified": "ok",
    "new": "unknown",
    "failing": "failing",
    "dead": "dead",
    "disabled": "disabled",
}


def feed_health(settings: Settings) -> list[dict[str, Any]]:
    """One row per source (and per outlet without one), by outlet: state (silent when its
    outlet's news stopped), verdict, last success and last error (never secrets)."""
    health = read_feed_health(settings.data_dir / settings.producer_state_path)
    listed = _sources_or_outlets()
    quiet = _silent(listed, health, settings)
    rows = []
    for spec in listed:
        if not isinstance(spec, FeedSpec):
            rows.append(_no_source(spec))
            continue
        h = health.get(spec.id)
        silent = shows_silent(spec, h, quiet)
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


def count_silent_outlets(settings: Settings) -> None:
    """Set :data:`OUTLET_SILENT` for every outlet with a source, from the persisted state."""
    health = read_feed_health(settings.data_dir / settings.producer_state_path)
    listed = _sources_or_outlets()
    quiet = _silent(listed, health, settings)
    for outlet in {spec.outlet_id for spec in listed if isinstance(spec, FeedSpec)}:
        OUTLET_SILENT.labels(outlet).set(1 if outlet in quiet else 0)


def _silent(
    listed: list[FeedSpec | Outlet], health: dict[str, FeedHealth], settings: Settings
) -> set[str]:
    sources = [spec for spec in listed if isinstance(spec, FeedSpec)]
    return silent_outlets(sources, health, datetime.now(UTC), settings.producer_silent_factor)


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
