"""Prometheus counters for every producer outcome (one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

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
FEED_STATES = Gauge("rasad_producer_feeds", "Feeds per health state.", ["state"])
