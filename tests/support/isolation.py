"""What every test that uses the app starts from: empty data tables, an empty Redis namespace and
a worker whose read caches hold nothing (the in-process tier would otherwise outlive Redis)."""

from __future__ import annotations

from tests.support.caches import reset_read_caches
from tests.support.database import empty_tables
from tests.support.servers import Server


def reset_app_state(server: Server, redis_key_prefix: str) -> None:
    server.run(empty_tables())
    server.run(_flush_redis_namespace(server, redis_key_prefix))
    reset_read_caches(server)


async def _flush_redis_namespace(server: Server, prefix: str) -> None:
    redis = server.app.ctx.redis
    if redis is None:
        return
    keys = [key async for key in redis.scan_iter(match=prefix + "*", count=500)]
    if keys:
        await redis.delete(*keys)
