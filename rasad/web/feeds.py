"""Feed health for the dashboard: the producer's persisted state joined with the registry.

Both reads are small blocking file reads (SQLite, YAML); routes call this in a thread.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from producers.registry import load_registry
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
    """One row per registry feed: its state, last success and last error (never secrets)."""
    health = read_feed_health(settings.data_dir / settings.producer_state_path)
    now = datetime.now(UTC)
    rows = []
    for spec in load_registry():
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
