"""Choosing and connecting to Redis: one server, or a Redis Cluster (``REDIS_CLUSTER=true``,
``REDIS_URL`` naming a seed node). Timeouts are tens of milliseconds: a hung Redis must cost a
request little, because every Redis user here has an in-process fallback."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Literal, TypeAlias, overload

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisClusterException, RedisError

from service.config import Settings

logger = logging.getLogger("praxis.redis")

LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"
# REDIS_URL=none: use the in-process fallbacks on purpose (what "auto" resolves to without Redis).
NO_REDIS = "none"
PROBE_TIMEOUT_SECONDS = 0.5
SOCKET_TIMEOUT_SECONDS = 0.05
# Per worker (per node of a cluster); the limiter holds at most a few of them (its calls in flight
# are bounded).
REDIS_MAX_CONNECTIONS = 64
HEALTH_CHECK_INTERVAL_SECONDS = 30

# Either client takes every command, script and pipeline the service sends.
RedisClient: TypeAlias = Redis | RedisCluster

# What a Redis call raises when Redis fails; every caller then answers from its in-process
# fallback. RedisError covers what a cluster raises while a master is down or being replaced
# (ConnectionError and TimeoutError, ClusterDownError and MasterDownError, TryAgainError).
REDIS_FAILURES = (
    RedisError,
    OSError,  # TimeoutError included: an asyncio timeout around a call
    # The cluster client's own, not RedisErrors: no node reachable to learn the topology from,
    # or slots the topology it learnt does not cover (SlotNotCoveredError).
    RedisClusterException,
    # The cluster client, when a master dies under concurrent commands: one command closes every
    # connection (redis-py's answer to CLUSTERDOWN) while another is writing on one of them, which
    # then fails with what the closed transport raises: RuntimeError under uvloop, the server's
    # loop ("unable to perform operation on <TCPTransport closed=True ...>; the handler is
    # closed"), AttributeError under asyncio's own ("'NoneType' object has no attribute
    # 'writelines'"). Both were 500s in the failover of tests/infra/test_redis_cluster.py before
    # they were listed here. Only Redis calls sit in the try blocks catching these, and mypy
    # --strict checks the attributes of the code around them.
    RuntimeError,
    AttributeError,
)


def hash_tag(part: str, cluster: bool) -> str:
    """``part`` of a key, as a hash tag on a Redis Cluster: the cluster places a key by the text
    between its first ``{`` and the next ``}``, so keys with the same tag share a slot, as the
    keys one script or one MGET touches must. On one Redis, keys keep the shape they always had:
    during a rolling upgrade, instances of the release before still share them."""
    return f"{{{part}}}" if cluster else part


@dataclass(frozen=True)
class RedisChoice:
    url: str | None
    reason: str


async def resolve_redis(settings: Settings) -> RedisChoice:
    if settings.redis_url == NO_REDIS:
        return RedisChoice(None, "REDIS_URL=none: in-process cache and rate limiter")
    if settings.redis_cluster:
        return RedisChoice(settings.redis_url, "REDIS_URL names a node of a Redis Cluster")
    if settings.redis_url != "auto":
        return RedisChoice(settings.redis_url, "REDIS_URL is set")
    if await redis_answers(LOCAL_REDIS_URL):
        return RedisChoice(LOCAL_REDIS_URL, "a Redis server answers on 127.0.0.1:6379")
    return RedisChoice(
        None,
        "no Redis on 127.0.0.1:6379: in-process cache and rate limiter "
        "(correct for one worker process only)",
    )


async def redis_answers(
    url: str, cluster: bool = False, timeout: float = PROBE_TIMEOUT_SECONDS
) -> bool:
    client = connect(url, cluster, timeout)
    try:
        return await ping(client)
    except REDIS_FAILURES:
        return False
    finally:
        await client.aclose()


async def ping(client: RedisClient) -> bool:
    """Whether Redis answers: on a cluster, every master (a plain PING reaches one node, which
    says nothing of the slots the others serve)."""
    if isinstance(client, RedisCluster):
        return bool(await client.ping(target_nodes=RedisCluster.PRIMARIES))
    return bool(await client.ping())


@overload
def connect(url: str, cluster: Literal[False] = False, timeout: float = ...) -> Redis: ...


@overload
def connect(url: str, cluster: bool, timeout: float = ...) -> RedisClient: ...


def connect(
    url: str, cluster: bool = False, timeout: float = SOCKET_TIMEOUT_SECONDS
) -> RedisClient:
    """A client of the server at ``url``, or of the cluster ``url`` names a node of."""
    if cluster:
        # No retries of a failed command: by default the cluster client retries three times,
        # learning the topology again and sleeping 0.25 s after each CLUSTERDOWN, which would
        # hold requests for a second or more while a master is replaced; the breaker and the
        # fallbacks answer meanwhile. A failure still makes the next command learn the topology
        # again (and MOVED redirections, as after a failover, are followed, not retries), so the
        # client finds the new master without a restart.
        return RedisCluster.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=HEALTH_CHECK_INTERVAL_SECONDS,
            max_connections=REDIS_MAX_CONNECTIONS,
            retry=Retry(NoBackoff(), 0),
        )
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=HEALTH_CHECK_INTERVAL_SECONDS,
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
