"""The served app's read caches and Redis, switched for a test: forgotten, replaced, or down."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from redis.asyncio import Redis

from service.infra.redis_client import connect
from tests.support.servers import Server

REDIS_URL = os.environ.get("PRAXIS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Nothing listens on port 1: connecting fails at once, a real Redis failure without a mock.
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"


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
