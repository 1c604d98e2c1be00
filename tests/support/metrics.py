"""Readings of this process's Prometheus registry (queries per request, cache outcomes), and of a
served process's metrics files (one per worker)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import httpx
from prometheus_client import REGISTRY
from prometheus_client.mmap_dict import MmapedDict

# prometheus_client's reader of one process's metrics file: (key, value, timestamp, offset) rows.
read_metric_values: Callable[[str], Iterable[tuple[str, float, float, int]]] = (
    MmapedDict.read_all_values_from_file
)


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


def rate_limit_decisions_by_worker(metrics_dir: Path) -> Counter[str]:
    """How many rate-limit decisions each worker of a served process made, by pid (its metrics
    file is ``counter_<pid>.db``); a worker that made none is absent."""
    decisions: Counter[str] = Counter()
    for path in metrics_dir.glob("counter_*.db"):
        for key, value, *_ in read_metric_values(str(path)):
            if json.loads(key)[0] == "praxis_rate_limit_decisions" and value:
                decisions[path.stem.removeprefix("counter_")] += int(value)
    return decisions
