"""Rate limiting. Buckets live in Redis, shared by every worker and instance, and one script call
per request both decides and returns what the headers need. When there is no Redis, or it just
failed, an in-process limiter with the same policies decides instead: never unlimited, never 5xx.

The same script call also answers the caller's cached permissions (service/kit/principal_cache)
and the read caches' generations (service/kit/cache), so a request costs one Redis round trip in
all: no database query while the caller's cached entry is fresh, and no second Redis call for a
cached read that this worker's memory already holds at that generation.

On a Redis Cluster a script may touch the keys of one slot only, and those keys live in several:
the bucket's key is tagged by the identity, the principal's by the user, each generation by its
namespace. There the script decides alone and the other keys are read beside it, concurrently
(``mget_nonatomic``: one MGET per slot, pipelined per node): two round trips at once, not one.

Algorithm: GCRA (see ratelimit.lua), a token bucket kept as one timestamp per client. It
has no window edges to burst across, and the Python twin below makes the same decisions.

Headers follow draft-ietf-httpapi-ratelimit-headers (revision 10 and later):
``RateLimit-Policy: "anon";q=120;w=60`` and ``RateLimit: "anon";r=87;t=41``, where ``t`` on an
allowed request is the seconds until the quota is fully restored and, on a refused one, the
seconds until the next request will be allowed (equal to ``Retry-After``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from sanic.response import BaseHTTPResponse

from observability.metrics import record_rate_limit_decision
from service.app_context import PraxisApp, PraxisRequest
from service.config import RateLimit, Settings
from service.infra.redis_client import REDIS_FAILURES, RedisBreaker, RedisClient, hash_tag
from service.kit.errors import ApiError, ErrorCode
from service.kit.principal_cache import PrincipalKeys, PrincipalLookup
from service.kit.rbac import access_claims, bearer_token

logger = logging.getLogger("praxis.ratelimit")

POLICY_HEADER = "RateLimit-Policy"
STATE_HEADER = "RateLimit"
# Request middleware with a higher priority runs first: the request id middleware (100) must have
# run before a refusal is rendered.
REQUEST_MIDDLEWARE_PRIORITY = 90
# Never limited: probes and scrapers must see the truth, and the docs cost nothing to serve.
EXEMPT_PATH_PREFIXES = ("/health", "/metrics", "/docs")
# Governed by the auth policy alone (per client IP), whatever token the request carries.
AUTH_PATH_PREFIX = "/api/v1/auth/"
MICROSECONDS = 1_000_000
# Per worker. One event loop gains nothing from more concurrent Redis calls than this; the
# limiter keeps this many connections open and queues the rest of a burst for a free one.
REDIS_CALLS_IN_FLIGHT = 8
GCRA_SCRIPT = Path(__file__).with_name("ratelimit.lua").read_text()


@dataclass(frozen=True)
class Policy:
    """A named limit; the quota and window are the setting's ``RateLimit``, held once."""

    name: str
    limit: RateLimit

    @classmethod
    def from_setting(cls, name: str, text: str) -> Policy:
        return cls(name, RateLimit.parse(text))

    @property
    def quota(self) -> int:
        return self.limit.quota

    @property
    def window(self) -> int:
        """In seconds."""
        return self.limit.window

    @property
    def header(self) -> str:
        return f'"{self.name}";q={self.quota};w={self.window}'


@dataclass(frozen=True)
class Policies:
    anon: Policy
    user: Policy
    auth: Policy

    @classmethod
    def from_settings(cls, settings: Settings) -> Policies:
        return cls(
            anon=Policy.from_setting("anon", settings.rate_limit_anon),
            user=Policy.from_setting("user", settings.rate_limit_user),
            auth=Policy.from_setting("auth", settings.rate_limit_auth),
        )


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    # Allowed: seconds until the quota is fully restored. Refused: seconds until a retry may pass.
    seconds: int

    @classmethod
    def of(cls, allowed: int | bool, remaining: int, microseconds: int) -> Decision:
        return cls(bool(allowed), int(remaining), -(-int(microseconds) // MICROSECONDS))

    def state_header(self, policy: Policy) -> str:
        return f'"{policy.name}";r={self.remaining};t={self.seconds}'


def gcra(tat: int | None, now: int, policy: Policy) -> tuple[int | None, Decision]:
    """One step of ratelimit.lua, in microseconds: the bucket's new theoretical arrival
    time (None when the request is refused and the bucket stays as it was) and the decision."""
    interval = max(1, policy.window * MICROSECONDS // policy.quota)
    capacity = interval * policy.quota
    start = now if tat is None else max(tat, now)
    ahead = start + interval - now
    if ahead > capacity:
        return None, Decision.of(False, 0, ahead - capacity)
    return start + interval, Decision.of(True, (capacity - ahead) // interval, ahead)


@dataclass(frozen=True)
class Verdict:
    """The decision and what the same script call read for the request: the caller's cached
    principal (None when not asked for, or when Redis did not answer: the caller's permissions are
    then read from the database) and the read caches' generations by key (only those Redis holds;
    empty without Redis)."""

    decision: Decision
    principal: PrincipalLookup | None = None
    generations: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Subject:
    """Who a request draws from: the policy, the bucket's identity, and the authenticated user
    whose cached permissions the same script call fetches (None without a valid token)."""

    policy: Policy
    identity: str
    user_id: str | None


class LocalLimiter:
    """GCRA buckets in this process: the limiter without Redis, and while Redis is failing.
    Per worker, so with N workers a client may get up to N times the quota meanwhile."""

    def __init__(self, max_buckets: int = 100_000) -> None:
        self.max_buckets = max_buckets
        self._tats: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._tats)

    def decide(self, key: str, policy: Policy, peek: bool = False) -> Decision:
        now = time.monotonic_ns() // 1000
        new_tat, decision = gcra(self._tats.get(key), now, policy)
        if new_tat is not None and not peek:
            if key not in self._tats and len(self._tats) >= self.max_buckets:
                self._make_room(now)
            self._tats[key] = new_tat
        return decision

    def _make_room(self, now: int) -> None:
        """Forget buckets that have refilled (the same as absent); if that frees nothing, the
        oldest tenth: memory stays bounded even when a flood of addresses hits the fallback."""
        for key in [key for key, tat in self._tats.items() if tat <= now]:
            del self._tats[key]
        if len(self._tats) >= self.max_buckets:
            for key in list(itertools.islice(self._tats, self.max_buckets // 10 + 1)):
                del self._tats[key]


class RateLimiter:
    def __init__(
        self,
        policies: Policies,
        settings: Settings,
        redis: RedisClient | None,
        breaker: RedisBreaker,
    ) -> None:
        self.policies = policies
        self.mode = settings.rate_limit_mode
        self.local = LocalLimiter()
        self._key_prefix = settings.redis_key_prefix + "ratelimit:"
        self._cluster = settings.redis_cluster
        self._breaker = breaker
        self._redis = redis
        # EVALSHA; redis-py loads the script and retries when the server answers NOSCRIPT.
        self._script = redis.register_script(GCRA_SCRIPT) if redis is not None else None
        self._in_flight = asyncio.Semaphore(REDIS_CALLS_IN_FLIGHT)

    async def prepare(self) -> None:
        """Before serving: load the script and open the connections the limiter will use. Else
        the first burst pays a connect and NOSCRIPT + SCRIPT LOAD per request, and under a busy
        CPU some of those overrun the 50 ms timeouts and push the worker onto the fallback."""
        if self._redis is None:
            return
        loads = (self._redis.script_load(GCRA_SCRIPT) for _ in range(REDIS_CALLS_IN_FLIGHT))
        results = await asyncio.gather(*loads, return_exceptions=True)
        failures = [result for result in results if isinstance(result, Exception)]
        if failures:
            logger.warning("rate limiter: Redis not ready (%s); deciding in-process", failures[0])

    def subject_of(self, request: PraxisRequest) -> Subject | None:
        """What a request draws from; None if never limited."""
        if _is_exempt(request):
            return None
        # remote_addr comes from X-Forwarded-For only when PROXIES_COUNT > 0; else the peer.
        client_ip: str = request.client_ip
        user_id = self._user_id(request)
        if request.path.startswith(AUTH_PATH_PREFIX):
            return Subject(self.policies.auth, client_ip, user_id)
        if user_id is not None:
            return Subject(self.policies.user, user_id, user_id)
        return Subject(self.policies.anon, client_ip, None)

    def _user_id(self, request: PraxisRequest) -> str | None:
        """The user of a valid access token, from its signature alone (no database). A bad token
        counts as anonymous here; the route answers 401 for it as usual."""
        if bearer_token(request) is None:
            return None
        try:
            return str(access_claims(request).user_id)
        except ApiError:
            return None

    async def decide(
        self,
        policy: Policy,
        identity: str,
        principal: PrincipalKeys | None = None,
        generation_keys: Sequence[str] = (),
        peek: bool = False,
    ) -> Verdict:
        """The decision, and what Redis holds for ``principal`` and under ``generation_keys``.
        ``peek`` decides without drawing from the bucket."""
        key = f"{self._key_prefix}{policy.name}:{hash_tag(identity, self._cluster)}"
        verdict = await self._decide_in_redis(key, policy, principal, generation_keys, peek)
        if verdict is None:
            return Verdict(self.local.decide(key, policy, peek))
        return verdict

    async def _decide_in_redis(
        self,
        key: str,
        policy: Policy,
        principal: PrincipalKeys | None,
        generation_keys: Sequence[str],
        peek: bool,
    ) -> Verdict | None:
        """The shared decision, or None when Redis is absent, failing or resting after a failure."""
        if self._script is None:
            return None
        principal_keys = principal.as_list() if principal else []
        args: list[str | int] = [policy.quota, policy.window, *(["peek"] if peek else [])]
        # Waiting for a slot does not count against the socket timeouts; a pile of concurrent
        # calls would, and would open as many new connections at once.
        async with self._in_flight:
            if not self._breaker.available():
                return None
            try:
                allowed, remaining, microseconds, *read = await self._run(
                    self._script, key, args, [*principal_keys, *generation_keys]
                )
            except REDIS_FAILURES:
                self._breaker.record_failure()
                return None
        self._breaker.record_success()
        cached, generations = read[: len(principal_keys)], read[len(principal_keys) :]
        return Verdict(
            Decision.of(allowed, remaining, microseconds),
            PrincipalLookup(principal, *cached) if principal is not None else None,
            {k: v for k, v in zip(generation_keys, generations, strict=True) if v is not None},
        )

    async def _run(
        self, script: AsyncScript, key: str, args: list[str | int], read_keys: list[str]
    ) -> list[Any]:
        """The script's answer for the bucket ``key``: the decision, then the values of
        ``read_keys``."""
        if not isinstance(self._redis, RedisCluster):
            return list(await script(keys=[key, *read_keys], args=args))
        if not read_keys:
            return list(await script(keys=[key], args=args))
        # Both finish (or fail) before the slot of REDIS_CALLS_IN_FLIGHT is given back.
        decision, values = await asyncio.gather(
            script(keys=[key], args=args),
            self._redis.mget_nonatomic(read_keys),
            return_exceptions=True,
        )
        for outcome in (decision, values):
            if isinstance(outcome, BaseException):
                raise outcome
        return [*decision, *values]


def _is_exempt(request: PraxisRequest) -> bool:
    # A CORS preflight carries no credentials and is answered without touching any handler; a 429
    # to it would surface in the browser as an unreadable CORS failure instead of a readable 429.
    if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
        return True
    path = request.path
    return any(path == prefix or path.startswith(prefix + "/") for prefix in EXEMPT_PATH_PREFIXES)


def install_rate_limiting(app: PraxisApp) -> None:
    settings = app.ctx.settings
    if not settings.rate_limit_enabled:
        return

    @app.before_server_start
    async def create_limiter(app: PraxisApp) -> None:
        # Registered after the listener that opens Redis, so app.ctx.redis is set by now.
        limiter = RateLimiter(
            Policies.from_settings(settings), settings, app.ctx.redis, app.ctx.redis_breaker
        )
        await limiter.prepare()
        app.ctx.rate_limiter = limiter

    app.register_middleware(limit_request, "request", priority=REQUEST_MIDDLEWARE_PRIORITY)
    app.register_middleware(add_rate_limit_headers, "response")


async def limit_request(request: PraxisRequest) -> None:
    limiter = request.app.ctx.rate_limiter
    if limiter is None:
        raise RuntimeError("the limiter's start listener runs before any request middleware")
    subject = limiter.subject_of(request)
    if subject is None:
        return
    policy = subject.policy
    cache = request.app.ctx.principal_cache
    keys = cache.keys(subject.user_id) if subject.user_id and cache.enabled else None
    generation_keys = [read.generation_key for read in request.app.ctx.read_caches.values()]
    verdict = await limiter.decide(policy, subject.identity, keys, generation_keys)
    decision = verdict.decision
    request.ctx.principal_lookup = verdict.principal
    request.ctx.cache_generations = verdict.generations
    record_rate_limit_decision(policy.name, decision.allowed, limiter.mode)
    request.ctx.rate_limit = (policy, decision)
    if not decision.allowed and limiter.mode == "enforce":
        raise ApiError(
            ErrorCode.RATE_LIMITED,
            f"Too many requests under the '{policy.name}' policy; "
            f"retry in {decision.seconds} seconds.",
            headers={"Retry-After": str(decision.seconds)},
            extra={"violated-policies": [policy.name]},
        )


async def add_rate_limit_headers(request: PraxisRequest, response: BaseHTTPResponse) -> None:
    """On every response of a limited request: allowed, refused, or an error of the route."""
    applied: tuple[Policy, Decision] | None = getattr(request.ctx, "rate_limit", None)
    if applied is None:
        return
    policy, decision = applied
    response.headers[POLICY_HEADER] = policy.header
    response.headers[STATE_HEADER] = decision.state_header(policy)
