"""Prometheus counters for every producer outcome (one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, start_http_server

from rasad.core.logs import get_logger

log = get_logger(__name__)

ARTICLES = Counter(
    "rasad_producer_articles_total",
    "Articles seen by the producer, by outcome: published (new), updated (new version), "
    "duplicate (already sent), spooled (broker did not ack), dead_lettered (refused for good).",
    ["outcome"],
)
POLLS = Counter(
    "rasad_producer_polls_total",
    "Feed polls by result: ok (200 parsed), not_modified (304), error.",
    ["result"],
)
FETCH_ERRORS = Counter(
    "rasad_producer_errors_total",
    "Failed polls and skipped entries by kind (timeout, dns, too_large, not_a_feed, ...).",
    ["kind"],
)
BYTES = Counter("rasad_producer_fetched_bytes_total", "Bytes read from feed servers (wire).")
SPOOL_SIZE = Gauge("rasad_producer_spool_size", "Articles waiting in the local spool.")
FEED_STATES = Gauge("rasad_producer_feeds", "Sources per health state.", ["state"])
OUTLET_SILENT = Gauge(
    "rasad_producer_outlet_silent",
    "1 for an outlet none of whose sources brought news for several usual gaps "
    "(RASAD_PRODUCER_SILENT_FACTOR), else 0; one series per polled outlet.",
    ["outlet"],
)
FEED_VERDICTS = Gauge(
    "rasad_producer_feed_verdicts",
    "Sources per verdict of their last poll (ok, stale, empty, blocked, moved, gone, ...).",
    ["verdict"],
)
REPLAY_READ = Counter(
    "rasad_producer_replay_read",
    "Articles read from a replay input (corpus or feed files), before dedup; what was "
    "published of them is in rasad_producer_articles_total.",
)


def serve(port: int) -> bool:
    """Serve this process's metrics on 127.0.0.1:``port`` (0: off). A port already taken (by
    another producer, say) is logged and the producer goes on without a metrics page: the
    articles matter more than their counters. True when serving."""
    if not port:
        return False
    try:
        start_http_server(port, addr="127.0.0.1")
    except OSError as exc:
        log.warning(
            "producer metrics not served",
            port=port,
            error=str(exc),
            hint="set RASAD_PRODUCER_METRICS_PORT to a free port (0 turns metrics off)",
        )
        return False
    log.info("producer metrics served", url=f"http://127.0.0.1:{port}/metrics")
    return True
