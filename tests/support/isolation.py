"""What every test that uses the app starts from: empty data tables, an empty Redis namespace and
a worker whose read caches hold nothing (the in-process tier would otherwise outlive Redis)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from service.config import Settings
from tests.support.caches import reset_read_caches
from tests.support.database import empty_tables
from tests.support.servers import Server

# The app's own client gives up after tens of milliseconds, on purpose; the harness must not fail
# a test's set-up because the shared machine is busy for a moment.
HARNESS_REDIS_TIMEOUT_SECONDS = 10.0


@asynccontextmanager
async def harness_redis(url: str) -> AsyncIterator[Redis]:
    """A Redis client of the test harness, with patient timeouts."""
    client = Redis.from_url(
        url,
        socket_timeout=HARNESS_REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=HARNESS_REDIS_TIMEOUT_SECONDS,
    )
    try:
        yield client
    finally:
        await client.aclose()


def reset_app_state(server: Server, settings: Settings) -> None:
    server.run(empty_tables())
    if server.app.ctx.redis is not None:
        server.run(_flush_redis_namespace(settings.redis_url, settings.redis_key_prefix))
    reset_read_caches(server)


async def _flush_redis_namespace(url: str, prefix: str) -> None:
    async with harness_redis(url) as redis:
        keys = [key async for key in redis.scan_iter(match=prefix + "*", count=500)]
        if keys:
            await redis.delete(*keys)
