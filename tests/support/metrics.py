"""Readings of this process's Prometheus registry: queries per request and cache outcomes."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from prometheus_client import REGISTRY


def queries_issued(route: str, call: Callable[[], httpx.Response]) -> tuple[int, httpx.Response]:
    """How many SQL statements the request made by ``call`` issued, as the per-request
    histogram ``praxis_db_queries_per_request{route}`` recorded it."""

    def total() -> float:
        value = REGISTRY.get_sample_value("praxis_db_queries_per_request_sum", {"route": route})
        return value or 0.0

    before = total()
    response = call()
    return int(total() - before), response


def cache_count(cache: str, result: str) -> float:
    value = REGISTRY.get_sample_value(
        "praxis_cache_requests_total", {"cache": cache, "result": result}
    )
    return value or 0.0


class CacheCounts:
    """``praxis_cache_requests_total`` deltas since this object was made."""

    SERIES = [(c, r) for c in ("redis", "local") for r in ("hit", "miss", "error")]

    def __init__(self) -> None:
        self.start = {series: cache_count(*series) for series in self.SERIES}

    def delta(self, cache: str, result: str) -> int:
        return int(cache_count(cache, result) - self.start[(cache, result)])

    def deltas(self) -> dict[str, int]:
        """Every non-zero delta, as ``{"redis/hit": 1, ...}``."""
        found = {f"{c}/{r}": self.delta(c, r) for c, r in self.SERIES}
        return {name: n for name, n in found.items() if n}
