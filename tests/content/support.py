"""Helpers for the content, cache and admin tests: cache metrics, Redis outages, problems."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from service.infra.redis_client import connect
from tests.conftest import Server

CONTENT = "/api/v1/content"
TAGS = "/api/v1/tags"
ADMIN_CONTENT = "/api/v1/admin/content"
# Nothing listens on port 1: connecting fails at once, a real Redis failure without a mock.
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"


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


def reset_read_caches(server: Server) -> None:
    """Forget the worker's cache objects (their in-process entries and generations)."""
    server.app.ctx.read_caches = {}


@contextmanager
def redis_replaced(server: Server, replacement: Redis | None) -> Iterator[None]:
    """Serve with ``replacement`` as the app's Redis (None: no Redis configured), then restore
    the real one with a closed breaker and fresh cache objects."""
    app = server.app
    real = app.ctx.redis
    app.ctx.redis = replacement
    app.ctx.redis_breaker.record_success()
    reset_read_caches(server)
    try:
        yield
    finally:
        app.ctx.redis = real
        app.ctx.redis_breaker.record_success()
        reset_read_caches(server)


@contextmanager
def redis_down(server: Server) -> Iterator[None]:
    """The app's Redis client points at a server that refuses connections."""
    dead = connect(DEAD_REDIS_URL)
    with redis_replaced(server, dead):
        yield
    server.run(dead.aclose())


def assert_problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    return body


def assert_invalid(response: httpx.Response, field: str) -> None:
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    fields = [error["field"] for error in body["errors"]]
    assert field in fields, fields
