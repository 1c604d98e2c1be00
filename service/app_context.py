"""What the app holds between requests (``app.ctx``), typed: ``PraxisApp`` is
``Sanic[Config, AppContext]``, so reading a resource needs no ``getattr`` and mypy checks it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import TYPE_CHECKING, TypeAlias

from sanic import Request, Sanic
from sanic.config import Config

from service.config import Settings
from service.infra.redis_client import RedisBreaker, RedisClient
from service.kit.principal_cache import PrincipalCache

if TYPE_CHECKING:
    from service.health.service import DatabaseProbe
    from service.kit.cache import ReadCache
    from service.kit.hardening import AdmissionGate
    from service.kit.ratelimit import RateLimiter
    from service.kit.security import VerifiedTokens


class AppContext:
    def __init__(self, settings: Settings, verified_tokens: VerifiedTokens) -> None:
        self.settings = settings
        # Opened by the server's start listener; None without Redis (in-process fallbacks).
        self.redis: RedisClient | None = None
        # Shared by the cache and the limiter: once Redis fails, both stay off it for a while.
        self.redis_breaker = RedisBreaker()
        # The callers' cached permissions; given the Redis client by the start listener.
        self.principal_cache = PrincipalCache.from_settings(None, self.redis_breaker, settings)
        # Signed by settings.jwt_secret (security imports the error catalog, which needs this
        # module: hence built by the app factory).
        self.verified_tokens = verified_tokens
        # Set by the rate limiter's start listener; None when RATE_LIMIT_ENABLED is false.
        self.rate_limiter: RateLimiter | None = None
        self.read_caches: dict[str, ReadCache] = {}
        # True from SIGTERM on: readiness fails while accepted requests finish.
        self.draining = False
        # The server the start listener chose (DATABASE_URL may say ``auto``).
        self.database_url = ""
        # The per-worker dependency probe (praxis_dependency_up) and its task.
        self.database_probe: DatabaseProbe | None = None
        self.dependency_watch: asyncio.Task[None] | None = None
        # Requests in progress on this worker, against MAX_CONCURRENT_REQUESTS.
        self.admission: AdmissionGate | None = None


PraxisApp: TypeAlias = Sanic[Config, AppContext]
PraxisRequest: TypeAlias = Request[PraxisApp, SimpleNamespace]
