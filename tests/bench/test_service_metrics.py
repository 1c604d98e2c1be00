"""What a measured window did, read from two /metrics expositions: cache hits and SQL statements
per request. The expositions come from a real prometheus_client registry with the service's
metric names, as the service's /metrics renders them."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from bench.service_metrics import Counters, parse_counters


class Service:
    """The three metrics the suite reads, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http = Counter(
            "praxis_http_requests", "", ["method", "route", "status"], registry=self.registry
        )
        self.queries = Histogram(
            "praxis_db_query_duration_seconds", "", ["operation"], registry=self.registry
        )
        self.cache = Counter(
            "praxis_cache_requests", "", ["cache", "result"], registry=self.registry
        )

    def request(self, route: str, statements: int = 0) -> None:
        self.http.labels("GET", route, "200").inc()
        for _ in range(statements):
            self.queries.labels("select").observe(0.001)

    def lookup(self, *outcomes: tuple[str, str]) -> None:
        for tier, result in outcomes:
            self.cache.labels(tier, result).inc()

    def counters(self) -> Counters:
        return parse_counters(generate_latest(self.registry).decode())


def test_queries_per_request_divides_statements_by_requests_other_than_scrapes() -> None:
    service = Service()
    for _ in range(4):
        service.request("/api/v1/history", statements=2)
    service.request("/health")
    service.request("/metrics")

    counters = service.counters()

    assert counters.http_requests == 5
    assert counters.queries_per_request == pytest.approx(8 / 5)


def test_hit_ratio_counts_each_read_once_when_redis_is_asked_first() -> None:
    service = Service()
    service.lookup(("redis", "hit"), ("redis", "hit"), ("redis", "miss"))
    service.lookup(("redis", "error"), ("local", "hit"))  # Redis failed, the local tier answered
    service.lookup(("redis", "error"), ("local", "miss"))

    assert service.counters().cache_hit_ratio == pytest.approx(3 / 5)


def test_hit_ratio_counts_each_read_once_when_the_local_tier_is_asked_first() -> None:
    service = Service()
    service.lookup(("local", "hit"), ("local", "hit"))
    service.lookup(("local", "miss"), ("redis", "hit"))
    service.lookup(("local", "miss"), ("redis", "miss"))

    assert service.counters().cache_hit_ratio == pytest.approx(3 / 4)


def test_a_window_is_the_difference_of_the_readings_around_it() -> None:
    service = Service()
    service.request("/api/v1/content", statements=1)
    service.lookup(("redis", "miss"))
    before = service.counters()
    for _ in range(9):
        service.request("/api/v1/content")
        service.lookup(("redis", "hit"))

    window = service.counters().minus(before)

    assert window.http_requests == 9
    assert window.db_queries == 0
    assert window.cache_hit_ratio == 1.0


def test_no_cache_lookup_means_no_hit_ratio_rather_than_zero() -> None:
    service = Service()
    service.request("/health")

    assert service.counters().cache_hit_ratio is None
