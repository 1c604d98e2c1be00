"""Settings read once from the environment and passed to whatever needs them."""

from __future__ import annotations

import re
import secrets
from functools import cached_property
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

RATE_LIMIT_PATTERN = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)\s*$")
PUBLIC_URL_PATTERN = re.compile(r"^https?://[^/?#\s]+(/[^?#\s]*)?$")
PERIOD_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
MIN_PRODUCTION_SECRET_LENGTH = 32
# A secret drawn at random from any usual alphabet has far more distinct characters than this.
MIN_SECRET_DISTINCT_CHARACTERS = 10
# Placeholders published in this repository (docker-compose.yml) or typical of examples: a
# deployment that kept one signs tokens anybody can forge.
EXAMPLE_SECRET_MARKERS = ("change-me", "changeme", "example", "placeholder", "secret-of-at-least")


class RateLimit:
    """A quota such as ``120/minute``: ``quota`` requests per ``window`` seconds."""

    def __init__(self, quota: int, window: int) -> None:
        self.quota = quota
        self.window = window

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        match = RATE_LIMIT_PATTERN.match(text)
        if not match or int(match.group(1)) < 1:
            raise ValueError(f"expected a limit such as '120/minute', got {text!r}")
        return cls(int(match.group(1)), PERIOD_SECONDS[match.group(2)])

    def __repr__(self) -> str:
        return f"RateLimit({self.quota}/{self.window}s)"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    database_url: str = "auto"
    redis_url: str = "auto"
    # REDIS_URL names a seed node of a Redis Cluster (docs/operations.md, "Redis Cluster").
    redis_cluster: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # The address clients use (behind a proxy, not the listen address): the base of problem type
    # URIs and of the OpenAPI servers entry. Empty: http://{HOST}:{PORT}.
    public_url: str = ""
    workers: int = Field(default=1, ge=1, le=64)
    env: Literal["development", "production", "test"] = "development"
    jwt_secret: str = ""
    jwt_access_ttl_seconds: int = Field(default=900, ge=60)
    jwt_refresh_ttl_seconds: int = Field(default=30 * 86400, ge=3600)
    cors_origins: str = ""
    proxies_count: int = Field(default=0, ge=0)
    rate_limit_anon: str = "120/minute"
    rate_limit_user: str = "1200/minute"
    rate_limit_auth: str = "10/minute"
    # RATE_LIMIT_ENABLED=false removes the limiter entirely: for benchmarks measuring its cost.
    rate_limit_enabled: bool = True
    # shadow: decide, count and send the headers exactly as enforce does, but never refuse (a
    # gradual rollout watches the would-be refusals, mode="shadow", before enforcing).
    rate_limit_mode: Literal["enforce", "shadow"] = "enforce"
    cache_ttl_seconds: int = Field(default=300, ge=0)
    slow_query_ms: int = Field(default=100, ge=0)
    # A traceparent in the statement comment makes every statement text unique, so asyncpg
    # prepares each one again: off by default (docs/operations.md, "Slow queries").
    sql_comment_traceparent: Literal["off", "sampled", "always"] = "off"
    admin_emails: str = ""
    log_format: Literal["console", "json", ""] = ""
    log_level: str = "INFO"
    data_dir: str = ".praxis"
    # Every Redis key starts with this, so several deployments (or test runs) can share a server.
    redis_key_prefix: str = "praxis:"
    # Each worker's database pool and how long anything may wait on it (docs/operations.md,
    # "Faults and what the service does"): a request past these answers 503, never hangs.
    db_pool_max_size: int = Field(default=10, ge=1, le=200)
    db_acquire_timeout_seconds: float = Field(default=2.0, gt=0)
    db_command_timeout_seconds: float = Field(default=5.0, gt=0)
    db_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    # DATABASE_URL is PgBouncer in transaction pooling mode: no statement cache,
    # pool reset or cancel request (docs/operations.md, "PgBouncer").
    db_pgbouncer: bool = False
    # Requests one worker serves at once; past it, 503 with Retry-After (probes exempt).
    max_concurrent_requests: int = Field(default=200, ge=1)
    # Sanic's REQUEST_TIMEOUT (a request that stops arriving for this long is cut off; every
    # byte restarts it, so a trickling client holds its connection, not a worker: the proxy
    # bounds total request time), RESPONSE_TIMEOUT and KEEP_ALIVE_TIMEOUT (idle keep-alive
    # connections; longer than a proxy's idle upstream ones, so the proxy closes first).
    request_timeout_seconds: int = Field(default=10, ge=1)
    response_timeout_seconds: int = Field(default=30, ge=1)
    keep_alive_timeout_seconds: int = Field(default=75, ge=1)
    # How often each worker tries the retention purge (one at a time wins); 0: never.
    purge_interval_seconds: float = Field(default=3600.0, ge=0)

    @field_validator("rate_limit_anon", "rate_limit_user", "rate_limit_auth")
    @classmethod
    def _valid_rate_limit(cls, value: str) -> str:
        RateLimit.parse(value)
        return value

    @field_validator("public_url")
    @classmethod
    def _valid_public_url(cls, value: str) -> str:
        if value and not PUBLIC_URL_PATTERN.match(value):
            raise ValueError(
                f"expected an http(s) origin with an optional path, such as "
                f"'https://api.example.com', got {value!r}"
            )
        return value.rstrip("/")

    @field_validator("log_level")
    @classmethod
    def _valid_log_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return upper

    # A field validator (REDIS_URL is validated before it): an error then quotes this field's
    # value alone, never the others' (a model validator's quotes all of them, JWT_SECRET too).
    @field_validator("redis_cluster")
    @classmethod
    def _cluster_needs_a_node(cls, cluster: bool, info: ValidationInfo) -> bool:
        if not cluster:
            return cluster
        url: str = info.data.get("redis_url", "")
        # "auto" finds a single server, never a cluster, and "none" has nothing to cluster.
        if url.strip().lower() in {"auto", "none"}:
            raise ValueError(
                "REDIS_CLUSTER=true needs REDIS_URL naming a node of the cluster, "
                "such as redis://redis-0:6379/0"
            )
        if urlsplit(url).path.strip("/") not in {"", "0"}:
            raise ValueError("a Redis Cluster has database 0 alone: REDIS_URL must name no other")
        return cluster

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def public_base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def effective_log_format(self) -> str:
        return self.log_format or ("json" if self.is_production else "console")

    @cached_property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @cached_property
    def admin_email_list(self) -> list[str]:
        return [e.strip().lower() for e in self.admin_emails.split(",") if e.strip()]

    def production_problems(self) -> list[str]:
        """Every reason ENV=production must refuse to start; empty when it may."""
        if not self.is_production:
            return []
        problems = []
        if self.database_url == "auto":
            problems.append("DATABASE_URL must be set explicitly (not 'auto') in production")
        if self.redis_url == "auto":
            problems.append("REDIS_URL must be set explicitly (not 'auto') in production")
        if self.redis_url.strip().lower() == "none" and self.workers > 1:
            problems.append(
                "REDIS_URL=none keeps limits, caches and revocations per process: "
                "it is refused with WORKERS > 1"
            )
        problems.extend(secret_problems(self.jwt_secret))
        # "null" is the origin of sandboxed frames and file: pages: anybody can send it.
        listed = {origin.lower() for origin in self.cors_origin_list}
        problems.extend(
            f"CORS_ORIGINS='{origin}' is refused in production; list exact origins"
            for origin in ("*", "null")
            if origin in listed
        )
        return problems


def secret_problems(secret: str) -> list[str]:
    """Why ``secret`` is not fit to sign production tokens: short, low-variety, or an example."""
    if len(secret) < MIN_PRODUCTION_SECRET_LENGTH:
        return [f"JWT_SECRET must have at least {MIN_PRODUCTION_SECRET_LENGTH} characters"]
    lowered = secret.lower()
    if any(marker in lowered for marker in EXAMPLE_SECRET_MARKERS):
        return ["JWT_SECRET is an example value; generate one (e.g. openssl rand -base64 48)"]
    # Periodic ("abab...") or drawn from a handful of characters: far less entropy than its length.
    periodic = secret in (secret + secret)[1:-1]
    if periodic or len(set(secret)) < MIN_SECRET_DISTINCT_CHARACTERS:
        return ["JWT_SECRET has too little variety to be random; generate one"]
    return []


def generate_dev_secret() -> str:
    return secrets.token_urlsafe(48)
