"""Prometheus metrics: every family of the SPEC, defined here, and their exposition.

With several workers (WORKERS > 1) each worker writes its values to files in
PROMETHEUS_MULTIPROC_DIR and ``/metrics`` sums them, whichever worker answers; that variable
must be set before prometheus_client is imported (the CLI does it for WORKERS > 1 only). With
one worker the default registry serves directly: fresh process metrics at each scrape, and
exemplars (trace ids on the request-duration histogram) in the OpenMetrics exposition, which
multiprocess mode cannot carry.

Gauges of a worker that exits disappear: the live* multiprocess modes keep one file per
process, removed when the process is marked dead (by itself on a clean stop, by the next
scrape when it was killed)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from opentelemetry import trace
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as openmetrics

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
OPENMETRICS_TYPE = "application/openmetrics-text"
UNMATCHED_ROUTE = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# A _created series per labelled child would double the output; Prometheus ignores them anyway.
disable_created_metrics()  # type: ignore[no-untyped-call]

HTTP_REQUESTS = Counter(
    "praxis_http_requests_total",
    "HTTP requests answered, by method, route template (or 'unmatched') and status; "
    "probes (/health*) and scrapes (/metrics) included",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "praxis_http_request_duration_seconds",
    "Time from the first request middleware to the response, by method and route template; "
    "probes and scrapes excluded",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_REQUESTS_IN_FLIGHT = Gauge(
    "praxis_http_requests_in_flight",
    "Requests being served now, over all live workers; probes and scrapes excluded",
    multiprocess_mode="livesum",
)
DB_QUERY_DURATION = Histogram(
    "praxis_db_query_duration_seconds",
    "Duration of each SQL statement sent to PostgreSQL, by operation (the SQL verb: select, "
    "insert, update, delete, copy, transaction or other)",
    ["operation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
DB_SLOW_QUERIES = Counter(
    "praxis_db_slow_queries_total",
    "SQL statements slower than SLOW_QUERY_MS, by operation (each also logged on praxis.db.slow)",
    ["operation"],
)
DB_QUERIES_PER_REQUEST = Histogram(
    "praxis_db_queries_per_request",
    "SQL statements issued while serving one request; probes and scrapes excluded",
    ["route"],
    buckets=(0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100),
)
CACHE_REQUESTS = Counter(
    "praxis_cache_requests",
    "Cache lookups by tier (cache: redis or local) and result: hit, miss, or error "
    "(Redis failed, or was skipped because it just failed; the local tier answers then)",
    ["cache", "result"],
)
RATE_LIMIT_DECISIONS = Counter(
    "praxis_rate_limit_decisions_total",
    "Rate limiter decisions by policy (anon, user, auth), decision (allowed, limited) and "
    "mode (enforce: a limited request is refused; shadow: it is only counted)",
    ["policy", "decision", "mode"],
)
# livemin: a dependency is up only if every live worker reaches it. Each worker serves its share
# of the traffic, so one worker that cannot reach the database fails that share: an alert must
# see it, where max would hide it and sum would count workers, not dependencies.
DEPENDENCY_UP = Gauge(
    "praxis_dependency_up",
    "1 if every live worker reached the dependency (database, redis) at its last probe "
    "(every 5 s) and since, else 0",
    ["dependency"],
    multiprocess_mode="livemin",
)
BUILD_INFO = Gauge(
    "praxis_build_info",
    "Always 1; the version label names the running release",
    ["version"],
    multiprocess_mode="livemax",
)
# Per worker (a pid label is added in multiprocess mode, where prometheus_client's own process
# collector sees only the scraping process). Gauges, not counters, so a dead worker's series go.
PROCESS_CPU_SECONDS = Gauge(
    "praxis_process_cpu_seconds",
    "User and system CPU time the worker has used (cumulative: use rate()), sampled every 5 s",
    multiprocess_mode="liveall",
)
PROCESS_RESIDENT_MEMORY = Gauge(
    "praxis_process_resident_memory_bytes",
    "Resident memory of the worker, sampled every 5 s",
    multiprocess_mode="liveall",
)
PROCESS_OPEN_FDS = Gauge(
    "praxis_process_open_fds",
    "Open file descriptors of the worker, sampled every 5 s",
    multiprocess_mode="liveall",
)

FAMILIES: tuple[MetricWrapperBase, ...] = (
    HTTP_REQUESTS,
    HTTP_REQUEST_DURATION,
    HTTP_REQUESTS_IN_FLIGHT,
    DB_QUERY_DURATION,
    DB_SLOW_QUERIES,
    DB_QUERIES_PER_REQUEST,
    CACHE_REQUESTS,
    RATE_LIMIT_DECISIONS,
    DEPENDENCY_UP,
    BUILD_INFO,
    PROCESS_CPU_SECONDS,
    PROCESS_RESIDENT_MEMORY,
    PROCESS_OPEN_FDS,
)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


# Exemplars need the default registry: multiprocess mode drops them.
EXEMPLARS = multiprocess_dir() is None


def version() -> str:
    try:
        return metadata.version("praxis")
    except metadata.PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------------------------------------
# Recording. ``.labels()`` builds a key and takes a lock on every call: children are cached.


class _Children:
    def __init__(self, family: Any) -> None:
        self._family = family
        self._children: dict[tuple[str, ...], Any] = {}

    def __call__(self, *labels: str) -> Any:
        child = self._children.get(labels)
        if child is None:
            child = self._children[labels] = self._family.labels(*labels)
        return child


_requests = _Children(HTTP_REQUESTS)
_durations = _Children(HTTP_REQUEST_DURATION)
_queries = _Children(DB_QUERIES_PER_REQUEST)
_rate_limit_decisions = _Children(RATE_LIMIT_DECISIONS)
_dependency_up: dict[str, bool] = {}


def method_label(method: str) -> str:
    """Any method a client sends reaches the middleware: unknown ones share one label."""
    return method if method in KNOWN_METHODS else "OTHER"


def record_request(
    method: str, route: str, status: int, seconds: float, queries: int, measured: bool
) -> None:
    """One answered request; ``measured`` is false for probes and scrapes, which are only
    counted, so they do not drown the latency and query histograms."""
    _requests(method, route, str(status)).inc()
    if not measured:
        return
    _queries(route).observe(queries)
    exemplar = _trace_exemplar() if EXEMPLARS else None
    _durations(method, route).observe(seconds, exemplar)


def _trace_exemplar() -> dict[str, str] | None:
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return {"trace_id": format(context.trace_id, "032x")}


def record_rate_limit_decision(policy: str, allowed: bool, mode: str = "enforce") -> None:
    _rate_limit_decisions(policy, "allowed" if allowed else "limited", mode).inc()


def set_dependency_up(dependency: str, up: bool) -> None:
    """Called by the periodic probe and on every real success or failure: writes only changes."""
    if _dependency_up.get(dependency) is not up:
        _dependency_up[dependency] = up
        DEPENDENCY_UP.labels(dependency).set(1 if up else 0)


def start_worker() -> None:
    """What a worker states as soon as it starts, before serving anything."""
    BUILD_INFO.labels(version()).set(1)
    sample_process()


_this_process = ProcessCollector(registry=None)


def sample_process() -> None:
    """CPU, memory and descriptors of this worker, from /proc (nothing where there is none)."""
    values = {s.name: s.value for family in _this_process.collect() for s in family.samples}
    if not values:
        return
    PROCESS_CPU_SECONDS.set(values["process_cpu_seconds_total"])
    PROCESS_RESIDENT_MEMORY.set(values["process_resident_memory_bytes"])
    PROCESS_OPEN_FDS.set(values["process_open_fds"])


# ---------------------------------------------------------------------------------------------
# Worker lifecycle (multiprocess mode only; no-ops otherwise).


def forget_process(pid: int) -> None:
    """Remove the live gauges of ``pid``: a worker that stops, or the main process, which
    serves nothing (its import-time zeros would count as a process)."""
    directory = multiprocess_dir()
    if directory:
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def forget_dead_processes(directory: str) -> None:
    """A killed worker never marks itself dead: its gauges would stay in the sums forever."""
    pids = {path.stem.rsplit("_", 1)[1] for path in Path(directory).glob("gauge_live*_*.db")}
    for pid in pids:
        if pid.isdigit() and not process_alive(int(pid)):
            multiprocess.mark_process_dead(int(pid), directory)  # type: ignore[no-untyped-call]


def process_alive(pid: int) -> bool:
    """Alive and not a zombie (a killed worker is one until the main process reaps it)."""
    if not os.path.isdir("/proc/self"):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# ---------------------------------------------------------------------------------------------
# Exposition.


class _AllWorkers:
    """Every worker's values summed, plus HELP and TYPE of each family no worker has written
    yet: a labelled family has no file until its first child exists, and the first scrape of a
    fresh server must still describe every family."""

    def __init__(self, directory: str) -> None:
        self._directory = directory

    def collect(self) -> Iterator[Metric]:
        forget_dead_processes(self._directory)
        files = [str(path) for path in Path(self._directory).glob("*.db")]
        written: Iterable[Metric] = multiprocess.MultiProcessCollector.merge(files)  # type: ignore[no-untyped-call]
        names = set()
        for family in written:
            names.add(family.name)
            yield family
        for described in FAMILIES:
            for family in described.describe():
                if family.name not in names:
                    yield family


def exposition(accept: str | None = None) -> tuple[bytes, str]:
    """Text exposition of every worker's metrics; OpenMetrics (with exemplars where they exist)
    when the scraper asks for it."""
    directory = multiprocess_dir()
    registry: Any = REGISTRY
    if directory:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_AllWorkers(directory))
    if accept and OPENMETRICS_TYPE in accept:
        body: bytes = openmetrics.generate_latest(registry)  # type: ignore[no-untyped-call]
        return body, openmetrics.CONTENT_TYPE_LATEST
    return generate_latest(registry), CONTENT_TYPE_LATEST
