"""service.kit.cache.ReadCache against a real Redis: one round trip per hit, generation-based
invalidation shared by workers, and an in-process fallback when Redis fails."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from redis.asyncio import Connection, ConnectionPool, Redis

from service.app_context import AppContext
from service.config import Settings
from service.infra.redis_client import connect
from service.kit.cache import CachedBody, LocalCache, ReadCache, etag_matches
from service.kit.errors import ApiError, ErrorCode
from service.kit.security import VerifiedTokens
from tests.support.caches import DEAD_REDIS_URL, REDIS_URL
from tests.support.metrics import CacheCounts
from tests.support.servers import Server

NAMESPACE = "unit"


class CountingConnection(Connection):
    """A real connection that counts what it writes to the socket: one write per round trip."""

    writes = 0

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        type(self).writes += 1
        await super().send_packed_command(command, check_health)


class Loader:
    """The database stand-in: answers a body and counts how often it was asked."""

    def __init__(self, body: bytes = b'{"items":[]}') -> None:
        self.body = body
        self.calls = 0

    async def __call__(self) -> bytes:
        self.calls += 1
        return self.body


@pytest.fixture
def redis(server: Server) -> Iterator[Redis]:
    client = server.run(_connect(REDIS_URL))
    yield client
    server.run(client.aclose())


@pytest.fixture
def patient_redis(server: Server) -> Iterator[Redis]:
    """Without the service's 50 ms timeouts: for what must not depend on the machine's load."""
    client = Redis.from_url(REDIS_URL)
    yield client
    server.run(client.aclose())


@pytest.fixture
def dead_redis(server: Server) -> Iterator[Redis]:
    client = server.run(_connect(DEAD_REDIS_URL))
    yield client
    server.run(client.aclose())


async def _connect(url: str) -> Redis:
    return connect(url)


def worker(settings: Settings, redis: Redis | None, **overrides: Any) -> ReadCache:
    """A ReadCache as one worker process has it: its own breaker and in-process tier."""
    chosen = settings.model_copy(update=overrides) if overrides else settings
    resources = AppContext(chosen, VerifiedTokens(chosen.jwt_secret))
    resources.redis = redis
    return ReadCache(resources, NAMESPACE)


def read(
    server: Server,
    cache: ReadCache,
    loader: Loader,
    key: str = "list:a",
    generation: bytes | None = None,
) -> CachedBody:
    return server.run(cache.get_or_load(key, loader, generation))


def generation(server: Server, redis: Redis, cache: ReadCache) -> int:
    """The cache's generation counter as Redis holds it."""
    stored = server.run(redis.get(cache.generation_key))
    assert stored is not None, "no generation in Redis"
    return int(stored)


def test_a_second_read_is_served_without_loading(
    server: Server, settings: Settings, redis: Redis
) -> None:
    cache, loader = worker(settings, redis), Loader()

    first = read(server, cache, loader)
    second = read(server, cache, loader)

    assert loader.calls == 1
    assert second == first == CachedBody.of(loader.body)


def test_invalidating_makes_the_next_read_load_afresh(
    server: Server, settings: Settings, redis: Redis
) -> None:
    cache, loader = worker(settings, redis), Loader()
    read(server, cache, loader)

    server.run(cache.invalidate())
    read(server, cache, loader)

    assert loader.calls == 2


def test_workers_share_entries_and_one_invalidation_reaches_every_worker(
    server: Server, settings: Settings, redis: Redis
) -> None:
    one, two, loader = worker(settings, redis), worker(settings, redis), Loader()
    read(server, one, loader)
    read(server, two, loader)
    assert loader.calls == 1

    server.run(one.invalidate())
    read(server, two, loader)

    assert loader.calls == 2


def test_without_the_limiters_generation_a_hit_costs_one_redis_round_trip_and_a_miss_two(
    counted: tuple[ReadCache, Callable[..., int]],
) -> None:
    _, trips = counted

    assert (trips(), trips()) == (2, 1)


@pytest.fixture
def counted(server: Server, settings: Settings) -> Iterator[tuple[ReadCache, Callable[..., int]]]:
    """A worker's cache on a client that counts its Redis round trips, and a reader that answers
    how many trips one read took."""
    client = Redis.from_pool(
        ConnectionPool.from_url(REDIS_URL, connection_class=CountingConnection)
    )
    cache, loader = worker(settings, client), Loader()
    server.run(client.ping())  # connection set-up (HELLO, CLIENT SETINFO) is not a read

    def trips_of_one_read(generation: bytes | None = None) -> int:
        CountingConnection.writes = 0
        read(server, cache, loader, generation=generation)
        return CountingConnection.writes

    yield cache, trips_of_one_read
    server.run(client.aclose())


def test_a_read_at_the_generation_the_limiter_read_costs_no_redis_trip_once_held(
    server: Server, redis: Redis, counted: tuple[ReadCache, Callable[..., int]]
) -> None:
    cache, trips = counted
    trips()  # filled: Redis miss, then the store
    current = server.run(redis.get(cache.generation_key))

    assert (trips(current), trips(current)) == (0, 0)


def test_a_read_at_a_newer_generation_asks_redis_again(
    server: Server, settings: Settings, redis: Redis, counted: tuple[ReadCache, Callable[..., int]]
) -> None:
    cache, trips = counted
    trips()
    server.run(worker(settings, redis).invalidate())  # another worker's write
    newer = server.run(redis.get(cache.generation_key))

    assert trips(newer) == 2  # a miss at the new generation: lookup, then store
    assert trips(newer) == 0


def test_a_lost_generation_is_reseeded_so_older_entries_stay_unreachable(
    server: Server, settings: Settings, redis: Redis
) -> None:
    cache, loader = worker(settings, redis), Loader()
    read(server, cache, loader)
    old_generation = generation(server, redis, cache)
    server.run(cache.invalidate())

    # As after an eviction or a restart without persistence: the counter is gone, entries are not.
    server.run(redis.delete(cache.generation_key))
    read(server, cache, loader)

    new_generation = generation(server, redis, cache)
    assert new_generation > old_generation + 1
    assert loader.calls == 2


def test_when_redis_fails_the_in_process_cache_answers_and_the_error_is_counted(
    server: Server, settings: Settings, dead_redis: Redis
) -> None:
    cache, loader = worker(settings, dead_redis), Loader()
    counts = CacheCounts()

    first = read(server, cache, loader)
    second = read(server, cache, loader)

    assert first == second == CachedBody.of(loader.body)
    assert loader.calls == 1
    assert counts.deltas() == {"redis/error": 2, "local/miss": 1, "local/hit": 1}


def test_an_open_breaker_keeps_reads_off_redis(
    server: Server, settings: Settings, redis: Redis
) -> None:
    cache, loader = worker(settings, redis), Loader()
    cache._resources.redis_breaker.record_failure()
    counts = CacheCounts()

    read(server, cache, loader)

    assert counts.deltas() == {"redis/error": 1, "local/miss": 1}
    assert server.run(redis.exists(cache.generation_key)) == 0  # Redis was not called


def test_an_invalidation_redis_missed_is_applied_with_the_writers_next_lookup(
    server: Server, settings: Settings, redis: Redis, dead_redis: Redis
) -> None:
    writer, reader, loader = worker(settings, redis), worker(settings, redis), Loader()
    read(server, reader, loader)

    writer._resources.redis = dead_redis
    server.run(writer.invalidate())  # Redis unreachable: remembered, not lost
    writer._resources.redis = redis
    writer._resources.redis_breaker.record_success()

    read(server, reader, loader)
    assert loader.calls == 1  # other workers see the old entry until the writer reaches Redis

    read(server, writer, Loader(), key="list:other")
    read(server, reader, loader)
    assert loader.calls == 2


def test_another_workers_invalidation_also_retires_the_in_process_entries(
    server: Server, settings: Settings, redis: Redis, dead_redis: Redis
) -> None:
    cache, other, loader = worker(settings, dead_redis), worker(settings, redis), Loader()
    read(server, cache, loader)  # Redis down: cached in process
    cache._resources.redis = redis
    cache._resources.redis_breaker.record_success()
    read(server, cache, Loader(), key="list:other")  # Redis back: generation observed

    server.run(other.invalidate())
    read(server, cache, Loader(), key="list:other")  # sees the new generation
    cache._resources.redis = dead_redis
    read(server, cache, loader)

    assert loader.calls == 2


def test_concurrent_misses_in_a_worker_share_one_load(
    server: Server, settings: Settings, patient_redis: Redis
) -> None:
    cache = worker(settings, patient_redis)
    release = asyncio.Event()
    calls = 0

    async def slow_load() -> bytes:
        nonlocal calls
        calls += 1
        await release.wait()
        return b"{}"

    async def five_readers() -> list[CachedBody]:
        readers = [asyncio.ensure_future(cache.get_or_load("k", slow_load)) for _ in range(5)]
        # A reader counts its miss and joins the load in one step: once five misses are
        # counted, all five are waiting on it.
        for _ in range(10_000):
            if counts.delta("redis", "miss") == 5:
                break
            await asyncio.sleep(0)  # yield to the readers; no wall-clock wait
        release.set()
        return list(await asyncio.gather(*readers))

    counts = CacheCounts()
    bodies = server.run(five_readers())

    assert counts.delta("redis", "miss") == 5
    assert calls == 1
    assert {b.body for b in bodies} == {b"{}"}


def test_a_failed_load_reaches_every_waiter_and_is_not_cached(
    server: Server, settings: Settings, redis: Redis
) -> None:
    cache = worker(settings, redis)

    async def missing() -> bytes:
        raise ApiError(ErrorCode.NOT_FOUND)

    async def two_readers() -> list[BaseException | CachedBody]:
        readers = [cache.get_or_load("k", missing) for _ in range(2)]
        return list(await asyncio.gather(*readers, return_exceptions=True))

    outcomes = server.run(two_readers())
    loader = Loader()
    read(server, cache, loader, key="k")

    assert all(isinstance(o, ApiError) for o in outcomes)
    assert loader.calls == 1


def test_a_zero_ttl_turns_caching_off(server: Server, settings: Settings, redis: Redis) -> None:
    cache, loader = worker(settings, redis, cache_ttl_seconds=0), Loader()
    read(server, cache, loader)
    read(server, cache, loader)
    assert loader.calls == 2


def test_the_in_process_tier_is_bounded_least_recently_used_first() -> None:
    local = LocalCache(max_entries=2, ttl_seconds=60)
    local.set("a", b"1")
    local.set("b", b"2")
    local.get("a")
    local.set("c", b"3")

    assert (local.get("a"), local.get("b"), local.get("c")) == (b"1", None, b"3")
    assert len(local) == 2


def test_the_in_process_tier_does_not_serve_expired_entries() -> None:
    local = LocalCache(max_entries=2, ttl_seconds=0)
    local.set("a", b"1")
    assert local.get("a") is None


def test_the_etag_is_a_quoted_hash_of_the_exact_bytes() -> None:
    assert CachedBody.of(b"{}").etag == CachedBody.of(b"{}").etag
    assert CachedBody.of(b"{}").etag != CachedBody.of(b"{ }").etag
    assert CachedBody.of(b"{}").etag.startswith('"')


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ("", False),
        ('"abc"', True),
        ('"other"', False),
        ('"x", "abc"', True),
        ('"x","y"', False),
        ("*", True),
        ('W/"abc"', True),
        ("abc", False),  # unquoted: not an entity tag
    ],
)
def test_if_none_match_is_compared_as_rfc_9110_says(header: str | None, matches: bool) -> None:
    assert etag_matches(header, '"abc"') is matches
