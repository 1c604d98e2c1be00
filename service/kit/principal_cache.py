"""The callers' permissions, cached in Redis so that checking them costs no database query and no
Redis round trip of its own: the rate limiter's one script call per request also answers the
caller's cached entry (see ratelimit.lua; on a Redis Cluster, a read sent beside it), and this
module says what the entry holds and when it is still true.

Freshness is by version, not by expiry. Each user has a version counter and all users share an
epoch; an entry records the version and epoch it was computed at, and is used only while both
are unchanged. Every change to what a user may do bumps a counter after its transaction commits
(roles, deactivation, logout, a revoked login: the user's version; a role's permissions: the
epoch), so the user's next request, on any worker or instance, reads the database again. A reader
takes the counters *before* it queries the database, so an entry computed from data older than a
bump is always stored under a stale version: a race cannot cache old permissions as new.

Entries also expire after CACHE_TTL_SECONDS: the bound on staleness if a bump itself is lost (Redis
failing at that moment; the process that lost one also invalidates every entry once Redis answers
again). Without Redis, or while it fails, every request reads the database: correctness first.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

import orjson

from service.config import Settings
from service.infra.redis_client import REDIS_FAILURES, RedisBreaker, RedisClient, hash_tag

logger = logging.getLogger("praxis.principals")


@dataclass(frozen=True)
class PrincipalState:
    """What the database says a user is and may do, as of one moment."""

    email: str
    display_name: str
    created_at: datetime
    is_active: bool
    roles: frozenset[str]
    permissions: frozenset[str]
    # Logins (refresh-token families) ended recently enough that their access tokens may still
    # be unexpired: a token naming one of them is refused.
    ended_logins: frozenset[uuid.UUID]

    def encode(self, version: bytes | None, epoch: bytes | None) -> bytes:
        return orjson.dumps(
            {
                "v": _text(version),
                "e": _text(epoch),
                "email": self.email,
                "name": self.display_name,
                "created": self.created_at,
                "active": self.is_active,
                "roles": sorted(self.roles),
                "permissions": sorted(self.permissions),
                "ended": sorted(str(login) for login in self.ended_logins),
            }
        )


@dataclass(frozen=True)
class PrincipalKeys:
    """The Redis keys of one user's entry: handed to the limiter's script as extra KEYS."""

    entry: str
    version: str
    epoch: str

    def as_list(self) -> list[str]:
        return [self.entry, self.version, self.epoch]


@dataclass(frozen=True)
class PrincipalLookup:
    """What the script answered for the caller: the stored entry, and the counters now."""

    keys: PrincipalKeys
    entry: bytes | None
    version: bytes | None
    epoch: bytes | None

    def fresh_state(self) -> PrincipalState | None:
        """The cached state if it was computed at the current version and epoch, else None."""
        if self.entry is None:
            return None
        try:
            data = orjson.loads(self.entry)
            if data["v"] != _text(self.version) or data["e"] != _text(self.epoch):
                return None
            return PrincipalState(
                email=data["email"],
                display_name=data["name"],
                created_at=datetime.fromisoformat(data["created"]),
                is_active=bool(data["active"]),
                roles=frozenset(data["roles"]),
                permissions=frozenset(data["permissions"]),
                ended_logins=frozenset(uuid.UUID(login) for login in data["ended"]),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None  # not written by this version of the service: read the database


def _text(counter: bytes | None) -> str:
    return counter.decode() if counter is not None else "0"


class PrincipalCache:
    def __init__(
        self,
        redis: RedisClient | None,
        breaker: RedisBreaker,
        key_prefix: str,
        ttl_seconds: int,
        cluster: bool = False,
    ) -> None:
        self._redis = redis
        self._breaker = breaker
        self._prefix = key_prefix + "principal:"
        # On a Redis Cluster a user's entry and version share a slot (one MGET reads both).
        self._cluster = cluster
        self.ttl_seconds = ttl_seconds
        # A bump that did not reach Redis: until the epoch is bumped, entries may be stale.
        self.lost_bump = False

    @classmethod
    def from_settings(
        cls, redis: RedisClient | None, breaker: RedisBreaker, settings: Settings
    ) -> PrincipalCache:
        """The service's cache, as its servers and its operator commands share it."""
        return cls(
            redis,
            breaker,
            settings.redis_key_prefix,
            settings.cache_ttl_seconds,
            cluster=settings.redis_cluster,
        )

    @property
    def enabled(self) -> bool:
        return self._redis is not None and self.ttl_seconds > 0

    def keys(self, user_id: uuid.UUID | str) -> PrincipalKeys:
        user = hash_tag(str(user_id), self._cluster)
        return PrincipalKeys(
            entry=f"{self._prefix}entry:{user}",
            version=f"{self._prefix}version:{user}",
            epoch=f"{self._prefix}epoch",
        )

    async def store(self, lookup: PrincipalLookup, state: PrincipalState) -> None:
        """Cache ``state`` under the counters read before it was computed (a cache miss only)."""
        if self._redis is None or not self._breaker.available():
            return
        entry = state.encode(lookup.version, lookup.epoch)
        try:
            await self._redis.set(lookup.keys.entry, entry, ex=self.ttl_seconds)
        except REDIS_FAILURES:
            self._breaker.record_failure()

    async def bump_users(self, user_ids: list[uuid.UUID]) -> None:
        """After a commit that changed what these users may do (or ended one of their logins)."""
        if user_ids:
            await self._bump([self.keys(user_id).version for user_id in user_ids])

    async def bump_everyone(self) -> None:
        """After a commit that changed a role's permissions: every entry is stale."""
        await self._bump([self.keys("").epoch])

    async def settle(self) -> None:
        """After a lost bump, once Redis answers again: invalidate every entry, to be sure."""
        if self.lost_bump:
            self.lost_bump = False
            await self.bump_everyone()

    async def _bump(self, counters: list[str]) -> None:
        if self._redis is None:
            return  # no shared cache: every request reads the database
        if not self._breaker.available():
            self.lost_bump = True  # this process reads the database meanwhile; settle later
            return
        try:
            # Not a transaction: on a Redis Cluster the counters live in several slots, and a
            # cluster pipeline sends each node its own.
            async with self._redis.pipeline(transaction=False) as pipe:
                for counter in counters:
                    pipe.incr(counter)
                await pipe.execute()
        except REDIS_FAILURES as exc:
            self.lost_bump = True
            self._breaker.record_failure()
            logger.error(
                "could not invalidate cached permissions (%r); entries expire within %ss",
                exc,
                self.ttl_seconds,
            )
