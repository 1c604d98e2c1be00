"""The callers' permissions cost no SQL while their cached entry is current, and every change
still applies to the next request: through the cache, and with Redis absent or failing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
import pytest

from service.config import Settings
from service.infra.redis_client import RedisBreaker, connect
from service.kit.principal_cache import PrincipalCache, PrincipalLookup, PrincipalState
from tests.support.factories import Factories
from tests.support.metrics import queries_issued
from tests.support.problems import assert_problem
from tests.support.servers import Api, Server, ServeVariant

ME = "/api/v1/users/me"
HISTORY = "/api/v1/history"
STATS = "/api/v1/history/stats"
USERS = "/api/v1/admin/users"
DEAD_REDIS = "redis://127.0.0.1:1/0"


def counts(api: Api, route: str, token: str, times: int = 3) -> list[int]:
    return [queries_issued(route, lambda: api.get(route, token=token))[0] for _ in range(times)]


@pytest.mark.parametrize(
    ("route", "own_queries"), [(ME, 0), (HISTORY, 1), (STATS, 1), ("/api/v1/admin/content", 1)]
)
def test_a_current_entry_saves_the_permission_query(
    api: Api, make: Factories, other_app: ServeVariant, route: str, own_queries: int
) -> None:
    admin = make.admin()
    without_redis = other_app(redis_url="none")

    # Before (no shared cache): the permission query on every request. After: only the first.
    assert counts(without_redis, route, admin.token) == [own_queries + 1] * 3
    assert counts(api, route, admin.token) == [own_queries + 1, own_queries, own_queries]


def test_changes_apply_to_the_next_request_through_the_cache(api: Api, make: Factories) -> None:
    admin, user = make.admin(), make.user()
    assert api.get(ME, token=user.token).json()["roles"] == ["member"]  # cached now

    api.put(f"{USERS}/{user.id}/roles", token=admin.token, json={"roles": ["editor"]})
    assert api.get(ME, token=user.token).json()["roles"] == ["editor"]

    api.patch(f"{USERS}/{user.id}", token=admin.token, json={"is_active": False})
    assert_problem(api.get(ME, token=user.token), 403, "ACCOUNT_DISABLED")


@pytest.mark.parametrize("redis_url", ["none", DEAD_REDIS])
def test_without_a_working_redis_every_request_reads_the_database(
    api: Api, make: Factories, other_app: ServeVariant, redis_url: str
) -> None:
    admin, user = make.admin(), make.user()
    degraded = other_app(redis_url=redis_url)
    assert degraded.get(ME, token=user.token).json()["roles"] == ["member"]

    degraded.put(f"{USERS}/{user.id}/roles", token=admin.token, json={"roles": ["editor"]})
    assert degraded.get(ME, token=user.token).json()["roles"] == ["editor"]
    assert api.get(ME, token=user.token).json()["roles"] == ["editor"]

    pair = degraded.post(
        "/api/v1/auth/login", json={"email": user.email, "password": user.password}
    ).json()
    assert degraded.get(ME, token=pair["access_token"]).status_code == 200
    body = {"refresh_token": pair["refresh_token"]}
    logout = degraded.post("/api/v1/auth/logout", token=pair["access_token"], json=body)
    assert logout.status_code == 204
    # A revoked login is refused from the database's record of it, as by the cache.
    assert_problem(degraded.get(ME, token=pair["access_token"]), 401, "TOKEN_REVOKED")


STATE = PrincipalState(
    email="cached@example.com",
    display_name="Cached",
    created_at=datetime(2026, 11, 25, 21, 0, tzinfo=UTC),
    is_active=True,
    roles=frozenset({"member"}),
    permissions=frozenset(),
    ended_logins=frozenset({uuid.uuid4()}),
)


def lookup(
    cache: PrincipalCache, entry: bytes | None, version: bytes | None, epoch: bytes | None
) -> PrincipalLookup:
    return PrincipalLookup(cache.keys("u"), entry, version, epoch)


def test_an_entry_is_used_only_at_the_version_and_epoch_it_was_computed_at() -> None:
    cache = PrincipalCache(None, RedisBreaker(), "p:", 60)
    entry = STATE.encode(b"3", None)

    assert lookup(cache, entry, b"3", None).fresh_state() == STATE
    assert lookup(cache, entry, b"4", None).fresh_state() is None  # the user changed
    assert lookup(cache, entry, b"3", b"1").fresh_state() is None  # a role changed
    assert lookup(cache, None, b"3", None).fresh_state() is None
    assert lookup(cache, b"not json", b"3", None).fresh_state() is None
    assert lookup(cache, orjson.dumps({"v": "3"}), b"3", None).fresh_state() is None


def test_an_entry_computed_before_a_bump_is_never_used(server: Server, settings: Settings) -> None:
    """The counters are read before the database; a bump in between leaves the entry stale."""
    redis = server.app.ctx.redis
    cache = PrincipalCache(redis, RedisBreaker(), settings.redis_key_prefix + "race:", 60)
    user_id = uuid.uuid4()
    keys = cache.keys(user_id)

    async def race() -> PrincipalState | None:
        version, epoch = await redis.mget(keys.version, keys.epoch)
        await cache.bump_users([user_id])  # a change commits while the reader queries
        await cache.store(PrincipalLookup(keys, None, version, epoch), STATE)
        entry, version, epoch = await redis.mget(*keys.as_list())
        return PrincipalLookup(keys, entry, version, epoch).fresh_state()

    assert server.run(race()) is None


def test_a_bump_lost_to_a_failing_redis_invalidates_every_entry_once_it_answers(
    server: Server, settings: Settings
) -> None:
    prefix = settings.redis_key_prefix + "lost:"
    failing = connect(DEAD_REDIS)
    lossy = PrincipalCache(failing, RedisBreaker(), prefix, 60)
    healthy = PrincipalCache(server.app.ctx.redis, RedisBreaker(), prefix, 60)
    epoch_key = healthy.keys("x").epoch

    async def scenario() -> tuple[bool, bool, bytes | None]:
        await lossy.bump_users([uuid.uuid4()])
        lost = lossy.lost_bump
        lossy._redis = server.app.ctx.redis  # Redis answers again
        lossy._breaker.record_success()
        await lossy.settle()
        epoch = await server.app.ctx.redis.get(epoch_key)
        await failing.aclose()
        return lost, lossy.lost_bump, epoch

    assert server.run(scenario()) == (True, False, b"1")
