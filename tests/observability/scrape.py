"""Reading a /metrics answer the way Prometheus does."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

# Every family of the SPEC; the client library names a counter's family without "_total".
SPEC_FAMILIES = {
    "praxis_http_requests": "counter",
    "praxis_http_request_duration_seconds": "histogram",
    "praxis_http_requests_in_flight": "gauge",
    "praxis_db_query_duration_seconds": "histogram",
    "praxis_db_slow_queries": "counter",
    "praxis_db_queries_per_request": "histogram",
    "praxis_cache_requests": "counter",
    "praxis_rate_limit_decisions": "counter",
    "praxis_dependency_up": "gauge",
    "praxis_build_info": "gauge",
}
DEADLINE_SECONDS = 20.0
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Scrape:
    text: str
    types: dict[str, str]  # family name -> type, for every family described (HELP/TYPE)
    samples: list[tuple[str, dict[str, str], float]]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples of ``name`` whose labels include ``labels``."""
        return sum(
            value
            for sample, sample_labels, value in self.samples
            if sample == name and labels.items() <= sample_labels.items()
        )

    def label_values(self, name: str, label: str) -> set[str]:
        return {labels[label] for sample, labels, _ in self.samples if sample == name}


def scrape(base_url: str) -> Scrape:
    with httpx.Client(base_url=base_url, timeout=10) as fresh:  # a new connection: any worker
        response = fresh.get("/metrics")
    assert response.status_code == 200
    families = list(text_string_to_metric_families(response.text))
    return Scrape(
        response.text,
        {family.name: family.type for family in families},
        [(s.name, dict(s.labels), s.value) for family in families for s in family.samples],
    )


def scrape_until(base_url: str, holds: Callable[[Scrape], bool], what: str) -> Scrape:
    """Scrape until ``holds`` (bounded): for what a worker reports on its own schedule."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        result = scrape(base_url)
        if holds(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {DEADLINE_SECONDS}s\n{result.text}")
        time.sleep(POLL_SECONDS)  # polling a state the server changes on its own clock
