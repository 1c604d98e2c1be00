"""The read cache: response bodies (JSON bytes) in Redis, shared by every worker, with an
in-process fallback; invalidated by a generation number, served with strong ETags.

Key design. A namespace (``content``) has one generation counter in Redis,
``{prefix}cache:{namespace}:gen``, and every entry's key embeds it:
``{prefix}cache:{namespace}:{generation}:{entry}`` (e.g. ``...:content:1764...:detail:intro``).
A write INCRs the generation, after its transaction commits, so the very next read in any worker
looks under a key nobody has filled yet: invalidation, not expiry. Entries of old generations are
never read again and expire within ``CACHE_TTL_SECONDS``.

Most cached reads cost no Redis call of their own. The rate limiter's script call, which every
limited request makes anyway, also reads the namespace's generation (service/kit/ratelimit.py),
and each worker keeps the bodies it served in memory under the generation they belong to: a body
held under the generation just read is served as it is (``cache="local"``). Only a worker's
first read of an entry at a generation asks Redis: a Lua script (EVALSHA) reads the generation
and the entry under it together, and a miss costs one more call (the ``SET ... EX`` of the fresh
body). The generation is read in the same round trip that admits the request (on a Redis
Cluster, in a read sent beside it), so a write's INCR that completed before a request began is
always seen by it: invalidation on the next read still holds on every worker at once. The script
builds the entry key itself, from the generation it reads; on a Redis Cluster the namespace is a
hash tag (``praxis:cache:{content}:gen``, ``praxis:cache:{content}:1764...:detail:intro``), so
the generation and every entry of the namespace share a slot, as the keys of one script must.
Concurrent misses of one key in a worker share one load (single flight), so an invalidation costs
the database one query per page per worker.

When Redis is absent, recently failed (the shared breaker is open) or errors, the in-process
cache answers alone: bounded (LRU) and with the same TTL, keyed by a local generation that every
write in this worker bumps. A write whose INCR could not reach Redis is remembered and the INCR is
folded into this worker's next successful lookup; until then other workers may serve the old
entries, for at most ``CACHE_TTL_SECONDS``. Redis failures never fail the request.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.commands.core import AsyncScript
from sanic.response import HTTPResponse, empty, raw

from observability.metrics import CACHE_REQUESTS
from service.app_context import AppContext, PraxisApp, PraxisRequest
from service.infra.redis_client import REDIS_FAILURES, RedisBreaker, RedisClient, hash_tag
from service.kit.web import JSON_CONTENT_TYPE

logger = logging.getLogger("praxis.cache")

LOCAL_MAX_ENTRIES = 1024
# Clients and shared caches may store a response but must revalidate it (cheap: a 304) each time,
# because an admin write must be visible to the very next read.
CACHE_CONTROL = "public, max-age=0, must-revalidate"

# KEYS[1] generation key; ARGV[1]/ARGV[2] entry key before/after the generation; ARGV[3] '1' to
# bump the generation first (a write that could not reach Redis earlier). A missing generation is
# seeded from the server clock in microseconds rather than 0, so a generation lost to a restart or
# an eviction can never come back to a value whose entries may still be alive.
_SEED = """
local function ensure_generation(key)
  if redis.call('EXISTS', key) == 0 then
    local t = redis.call('TIME')
    redis.call('SET', key, t[1] .. string.rep('0', 6 - #t[2]) .. t[2])
  end
end
"""
LOOKUP_SCRIPT = (
    _SEED
    + """
ensure_generation(KEYS[1])
if ARGV[3] == '1' then redis.call('INCR', KEYS[1]) end
local generation = redis.call('GET', KEYS[1])
return {generation, redis.call('GET', ARGV[1] .. generation .. ARGV[2])}
"""
)
BUMP_SCRIPT = (
    _SEED
    + """
ensure_generation(KEYS[1])
return redis.call('INCR', KEYS[1])
"""
)


@dataclass(frozen=True)
class CacheScripts:
    """The two scripts registered with one client (redis-py's ``register_script``: EVALSHA, the
    text crosses the wire only after a server restart)."""

    client: RedisClient
    lookup: AsyncScript
    bump: AsyncScript

    @classmethod
    def of(cls, client: RedisClient) -> CacheScripts:
        return cls(
            client, client.register_script(LOOKUP_SCRIPT), client.register_script(BUMP_SCRIPT)
        )


@dataclass(frozen=True)
class CachedBody:
    """A response body and its strong ETag (a hash of the exact bytes, equal in every worker)."""

    body: bytes
    etag: str

    @classmethod
    def of(cls, body: bytes) -> CachedBody:
        return cls(body, '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"')


class LocalCache:
    """Bounded in-process LRU with a per-entry deadline."""

    def __init__(self, max_entries: int, ttl_seconds: int) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        deadline, body = entry
        if time.monotonic() >= deadline:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return body

    def set(self, key: str, body: bytes) -> None:
        self._entries[key] = (time.monotonic() + self.ttl_seconds, body)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class ReadCache:
    """Cached reads of one namespace; every write to it calls :meth:`invalidate` after commit."""

    def __init__(
        self,
        resources: AppContext,
        namespace: str,
        local_max_entries: int = LOCAL_MAX_ENTRIES,
    ) -> None:
        # Redis and the breaker are read from the app's ctx on each call, never captured: the
        # client is created when the server starts, after the cache may have been built.
        self._resources = resources
        settings = resources.settings
        self.ttl_seconds: int = settings.cache_ttl_seconds
        tagged = hash_tag(namespace, settings.redis_cluster)
        base = f"{settings.redis_key_prefix}cache:{tagged}:"
        self.generation_key = base + "gen"
        self._entry_prefix = base
        self._local = LocalCache(local_max_entries, self.ttl_seconds)
        self._local_generation = 0
        self._seen_remote_generation: bytes | None = None
        # Writes whose INCR did not reach Redis; the next successful call INCRs for them.
        self._unsent_invalidations = 0
        self._inflight: dict[str, asyncio.Future[bytes]] = {}
        self._registered: CacheScripts | None = None

    @property
    def _redis(self) -> RedisClient | None:
        return self._resources.redis

    @property
    def _breaker(self) -> RedisBreaker:
        return self._resources.redis_breaker

    def _scripts(self, redis: RedisClient) -> CacheScripts:
        if self._registered is None or self._registered.client is not redis:
            self._registered = CacheScripts.of(redis)
        return self._registered

    async def get_or_load(
        self, key: str, load: Callable[[], Awaitable[bytes]], generation: bytes | None = None
    ) -> CachedBody:
        """The cached body under ``key``, else ``load()``'s, stored for the next reader.
        ``generation``: the namespace's in Redis, just read by the request's limiter call."""
        if self.ttl_seconds <= 0:
            return CachedBody.of(await load())
        if generation is not None:
            held = self._local.get(_held_key(generation, key))
            if held is not None:
                CACHE_REQUESTS.labels(cache="local", result="hit").inc()
                return CachedBody.of(held)
        remote = await self._remote_lookup(key)
        if remote is not None:
            return await self._answer_from_remote(key, remote, load)
        return await self._answer_from_local(key, load)

    async def invalidate(self) -> None:
        """Make every entry of the namespace unreachable, here and in every worker."""
        self._bump_local()
        redis = self._redis
        if redis is None:
            return
        if not self._breaker.available():
            self._unsent_invalidations += 1
            return
        covered = self._unsent_invalidations  # those committed before this INCR is sent
        try:
            await self._scripts(redis).bump(keys=[self.generation_key], client=redis)
        except REDIS_FAILURES as exc:
            self._redis_failed("invalidate", exc)
            self._unsent_invalidations += 1
            return
        self._breaker.record_success()
        self._unsent_invalidations -= covered

    # Redis tier

    async def _remote_lookup(self, key: str) -> tuple[bytes, bytes | None] | None:
        """(generation, body or None) from Redis in one round trip; None when Redis can't answer."""
        redis = self._redis
        if redis is None:
            return None
        if not self._breaker.available():
            # Skipped because Redis just failed: still a read the Redis tier could not answer.
            CACHE_REQUESTS.labels(cache="redis", result="error").inc()
            return None
        # Counted when sent: an invalidation failing meanwhile stays owed (its commit may come
        # after this INCR).
        covered = self._unsent_invalidations
        bump = "1" if covered else "0"
        try:
            generation, body = await self._scripts(redis).lookup(
                keys=[self.generation_key], args=[self._entry_prefix, ":" + key, bump], client=redis
            )
        except REDIS_FAILURES as exc:
            CACHE_REQUESTS.labels(cache="redis", result="error").inc()
            self._redis_failed("lookup", exc)
            return None
        self._breaker.record_success()
        self._unsent_invalidations -= covered
        self._observe_remote_generation(generation)
        return generation, body

    async def _answer_from_remote(
        self,
        key: str,
        remote: tuple[bytes, bytes | None],
        load: Callable[[], Awaitable[bytes]],
    ) -> CachedBody:
        generation, body = remote
        if body is not None:
            CACHE_REQUESTS.labels(cache="redis", result="hit").inc()
            self._local.set(_held_key(generation, key), body)
            return CachedBody.of(body)
        CACHE_REQUESTS.labels(cache="redis", result="miss").inc()
        full_key = self._entry_prefix + generation.decode() + ":" + key

        async def load_and_store() -> bytes:
            fresh = await load()
            await self._remote_store(full_key, fresh)
            self._local.set(_held_key(generation, key), fresh)
            return fresh

        return CachedBody.of(await self._single_flight(full_key, load_and_store))

    async def _remote_store(self, full_key: str, body: bytes) -> None:
        redis = self._redis
        if redis is None or not self._breaker.available():
            return
        try:
            await redis.set(full_key, body, ex=self.ttl_seconds)
        except REDIS_FAILURES as exc:
            self._redis_failed("store", exc)

    def _observe_remote_generation(self, generation: bytes) -> None:
        # Another worker's write moved the generation: what this worker cached locally during an
        # earlier outage predates it, so it must not be served if Redis fails again.
        if generation != self._seen_remote_generation:
            if self._seen_remote_generation is not None:
                self._bump_local()
            self._seen_remote_generation = generation

    def _redis_failed(self, operation: str, exc: BaseException) -> None:
        logger.warning("cache %s failed, using the in-process cache: %r", operation, exc)
        self._breaker.record_failure()

    # In-process tier

    async def _answer_from_local(
        self, key: str, load: Callable[[], Awaitable[bytes]]
    ) -> CachedBody:
        local_key = f"{self._local_generation}:{key}"
        body = self._local.get(local_key)
        if body is not None:
            CACHE_REQUESTS.labels(cache="local", result="hit").inc()
            return CachedBody.of(body)
        CACHE_REQUESTS.labels(cache="local", result="miss").inc()

        async def load_and_store() -> bytes:
            fresh = await load()
            # Stored under the generation read before loading: if a write happened meanwhile,
            # this possibly stale body lands where no reader looks.
            self._local.set(local_key, fresh)
            return fresh

        return CachedBody.of(await self._single_flight("local:" + local_key, load_and_store))

    def _bump_local(self) -> None:
        self._local_generation += 1
        self._local.clear()

    async def _single_flight(self, flight_key: str, work: Callable[[], Awaitable[bytes]]) -> bytes:
        """Concurrent misses of one key in this worker share one load: after an invalidation a
        popular page costs the database one query per worker, not one per request."""
        flight = self._inflight.get(flight_key)
        if flight is None:
            flight = asyncio.ensure_future(work())
            self._inflight[flight_key] = flight
            flight.add_done_callback(lambda done: self._end_flight(flight_key, done))
        # Shielded: one client going away must not cancel the load the others wait for.
        return await asyncio.shield(flight)

    def _end_flight(self, flight_key: str, flight: asyncio.Future[bytes]) -> None:
        if self._inflight.get(flight_key) is flight:
            del self._inflight[flight_key]
        if not flight.cancelled():
            flight.exception()  # retrieved here too, so a failure nobody awaited is not logged


def _held_key(generation: bytes, key: str) -> str:
    """Where this worker holds a body of Redis generation ``generation``; apart from the keys of
    the fallback tier, which carry this worker's own generation."""
    return "redis-" + generation.decode() + ":" + key


@dataclass(frozen=True)
class RequestCache:
    """A namespace's cache as one request reads it: with the generation the limiter's script call
    read for it, when it did."""

    cache: ReadCache
    generation: bytes | None

    async def get_or_load(self, key: str, load: Callable[[], Awaitable[bytes]]) -> CachedBody:
        return await self.cache.get_or_load(key, load, self.generation)


def request_cache(request: PraxisRequest, namespace: str) -> RequestCache:
    cache = read_cache(request.app, namespace)
    generations: dict[str, bytes] = getattr(request.ctx, "cache_generations", {})
    return RequestCache(cache, generations.get(cache.generation_key))


def read_cache(app: PraxisApp, namespace: str) -> ReadCache:
    """The worker's cache of ``namespace``, created on first use."""
    caches = app.ctx.read_caches
    if namespace not in caches:
        caches[namespace] = ReadCache(app.ctx, namespace)
    return caches[namespace]


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: ``*`` or a list of entity tags, compared weakly."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        if tag.removeprefix("W/") == etag:
            return True
    return False


def cached_response(request: PraxisRequest, cached: CachedBody) -> HTTPResponse:
    """200 with the body, or 304 with no body when the client already holds this version."""
    headers = {"ETag": cached.etag, "Cache-Control": CACHE_CONTROL}
    if etag_matches(request.headers.get("if-none-match"), cached.etag):
        return empty(status=304, headers=headers)
    return raw(cached.body, headers=headers, content_type=JSON_CONTENT_TYPE)
