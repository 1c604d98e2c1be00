"""Choosing and connecting to Redis. Timeouts are tens of milliseconds: a hung Redis must cost a
request little, because every Redis user here has an in-process fallback."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.config import Settings

logger = logging.getLogger("praxis.redis")

LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"
# REDIS_URL=none: use the in-process fallbacks on purpose (what "auto" resolves to without Redis).
NO_REDIS = "none"
PROBE_TIMEOUT_SECONDS = 0.5
SOCKET_TIMEOUT_SECONDS = 0.05
# Per worker; the limiter holds at most a few of them (its calls in flight are bounded).
REDIS_MAX_CONNECTIONS = 64


@dataclass(frozen=True)
class RedisChoice:
    url: str | None
    reason: str


async def resolve_redis(settings: Settings) -> RedisChoice:
    if settings.redis_url == NO_REDIS:
        return RedisChoice(None, "REDIS_URL=none: in-process cache and rate limiter")
    if settings.redis_url != "auto":
        return RedisChoice(settings.redis_url, "REDIS_URL is set")
    if await redis_answers(LOCAL_REDIS_URL):
        return RedisChoice(LOCAL_REDIS_URL, "a Redis server answers on 127.0.0.1:6379")
    return RedisChoice(
        None,
        "no Redis on 127.0.0.1:6379: in-process cache and rate limiter "
        "(correct for one worker process only)",
    )


async def redis_answers(url: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    client = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()


def connect(url: str) -> Redis:
    return Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        health_check_interval=30,
        max_connections=REDIS_MAX_CONNECTIONS,
    )


class RedisBreaker:
    """Stops calling a Redis that just failed, for ``cooldown_seconds``: with a dead or hung
    server every request would otherwise pay the timeout. Shared by every Redis user of a worker.
    """

    def __init__(self, cooldown_seconds: float = 2.0) -> None:
        self.cooldown_seconds = cooldown_seconds
        self._open_until = 0.0

    def available(self) -> bool:
        return time.monotonic() >= self._open_until

    def record_failure(self) -> None:
        if self.available():
            logger.warning("Redis call failed; using fallbacks for %.1fs", self.cooldown_seconds)
        self._open_until = time.monotonic() + self.cooldown_seconds

    def record_success(self) -> None:
        self._open_until = 0.0
