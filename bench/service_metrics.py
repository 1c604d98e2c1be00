"""What the service's own /metrics says about a measured window: read before and after it, the
difference gives the cache hit ratio and the SQL statements per request of exactly that load."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

CACHE_REQUESTS = "praxis_cache_requests_total"
DB_QUERIES = "praxis_db_query_duration_seconds_count"
HTTP_REQUESTS = "praxis_http_requests_total"
# The scrapes themselves are not part of the load.
UNCOUNTED_ROUTES = frozenset({"/metrics"})
SCRAPE_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Counters:
    """The counters the report uses, summed over their other labels."""

    # (cache tier, result) -> count, e.g. ("redis", "hit")
    cache: dict[tuple[str, str], float] = field(default_factory=dict)
    db_queries: float = 0.0
    http_requests: float = 0.0

    def minus(self, earlier: Counters) -> Counters:
        keys = self.cache.keys() | earlier.cache.keys()
        return Counters(
            cache={k: self.cache.get(k, 0.0) - earlier.cache.get(k, 0.0) for k in keys},
            db_queries=self.db_queries - earlier.db_queries,
            http_requests=self.http_requests - earlier.http_requests,
        )

    def plus(self, other: Counters) -> Counters:
        keys = self.cache.keys() | other.cache.keys()
        return Counters(
            cache={k: self.cache.get(k, 0.0) + other.cache.get(k, 0.0) for k in keys},
            db_queries=self.db_queries + other.db_queries,
            http_requests=self.http_requests + other.http_requests,
        )

    @property
    def cache_lookups(self) -> float:
        """Reads that consulted the cache. Each read asks the tiers in turn until one answers, so
        the first tier sees every read and a later one a subset: the busiest tier's count is the
        number of reads, whichever order the tiers are asked in."""
        by_tier: dict[str, float] = defaultdict(float)
        for (tier, _), count in self.cache.items():
            by_tier[tier] += count
        return max(by_tier.values(), default=0.0)

    @property
    def cache_hits(self) -> float:
        return sum(count for (_, result), count in self.cache.items() if result == "hit")

    @property
    def cache_hit_ratio(self) -> float | None:
        lookups = self.cache_lookups
        return self.cache_hits / lookups if lookups else None

    @property
    def queries_per_request(self) -> float | None:
        return self.db_queries / self.http_requests if self.http_requests else None

    def as_json(self) -> dict[str, Any]:
        return {
            "cache": {f"{tier}/{result}": n for (tier, result), n in sorted(self.cache.items())},
            "cache_hit_ratio": self.cache_hit_ratio,
            "db_queries": self.db_queries,
            "http_requests": self.http_requests,
            "queries_per_request": self.queries_per_request,
        }


def parse_counters(exposition: str) -> Counters:
    """The counters of a Prometheus text exposition (as /metrics serves it)."""
    cache: dict[tuple[str, str], float] = defaultdict(float)
    db_queries = http_requests = 0.0
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == CACHE_REQUESTS:
                cache[(sample.labels["cache"], sample.labels["result"])] += sample.value
            elif sample.name == DB_QUERIES:
                db_queries += sample.value
            elif sample.name == HTTP_REQUESTS and sample.labels["route"] not in UNCOUNTED_ROUTES:
                http_requests += sample.value
    return Counters(dict(cache), db_queries, http_requests)


def scrape(base_url: str) -> Counters:
    response = httpx.get(base_url + "/metrics", timeout=SCRAPE_TIMEOUT_SECONDS)
    response.raise_for_status()
    return parse_counters(response.text)
