"""Prometheus metrics. With several workers, each writes to PROMETHEUS_MULTIPROC_DIR and
``/metrics`` sums them; that variable must be set before prometheus_client is imported."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

DB_QUERIES_PER_REQUEST = Histogram(
    "praxis_db_queries_per_request",
    "SQL statements issued while serving one request",
    ["route"],
    buckets=(0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100),
)

RATE_LIMIT_DECISIONS = Counter(
    "praxis_rate_limit_decisions_total",
    "Rate limiter decisions by policy (anon, user, auth) and decision (allowed, limited)",
    ["policy", "decision"],
)

CACHE_REQUESTS = Counter(
    "praxis_cache_requests",
    "Cache lookups by tier (cache: redis or local) and result: hit, miss, or error "
    "(Redis failed, or was skipped because it just failed; the local tier answers then)",
    ["cache", "result"],
)


def exposition() -> tuple[bytes, str]:
    """The text exposition of every worker's metrics together."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
