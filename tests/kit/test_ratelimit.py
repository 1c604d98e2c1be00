"""Rate limiting: GCRA buckets in Redis per client address, per user and on the auth paths, with
the draft RateLimit headers, 429 problems, exemptions, and the in-process fallback."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY

from service.config import RateLimit, Settings
from service.kit import security
from service.kit.ratelimit import LocalLimiter, Policies, Policy, RateLimiter
from tests.support.api import LOGIN, LOGOUT, ME
from tests.support.caches import DEAD_REDIS_URL
from tests.support.factories import Factories
from tests.support.problems import assert_problem
from tests.support.servers import Api, Server, serving_variant

# A quota per minute of 3 is one request per 20 s: nothing refills while a test runs.
ANON = Policy("anon", RateLimit(3, 60))
USER = Policy("user", RateLimit(4, 60))
AUTH = Policy("auth", RateLimit(2, 60))
WRONG_LOGIN = {"email": "nobody@example.com", "password": "not the password"}


@pytest.fixture
def tight_limits(server: Server, settings: Settings) -> Iterator[Policies]:
    """The session's app with small quotas for the duration of one test."""
    app = server.app
    original = app.ctx.rate_limiter
    policies = Policies(anon=ANON, user=USER, auth=AUTH)
    app.ctx.rate_limiter = RateLimiter(policies, settings, app.ctx.redis, app.ctx.redis_breaker)
    yield policies
    app.ctx.rate_limiter = original


def exhaust(api: Api, path: str, quota: int, **kwargs: Any) -> None:
    for _ in range(quota):
        assert api.get(path, **kwargs).status_code != 429


def decisions(policy: str, decision: str, mode: str = "enforce") -> float:
    labels = {"policy": policy, "decision": decision, "mode": mode}
    return REGISTRY.get_sample_value("praxis_rate_limit_decisions_total", labels) or 0.0


def test_every_limited_response_states_its_policy_and_the_state_of_its_bucket(
    api: Api, tight_limits: Policies
) -> None:
    first = api.get(ME)
    second = api.get(ME)

    assert first.status_code == 401  # an error response of a limited route still carries them
    assert first.headers["RateLimit-Policy"] == '"anon";q=3;w=60'
    assert first.headers["RateLimit"] == '"anon";r=2;t=20'
    assert second.headers["RateLimit"] == '"anon";r=1;t=40'


def test_the_request_past_the_quota_is_refused_with_retry_after_and_a_problem(
    api: Api, tight_limits: Policies
) -> None:
    exhaust(api, ME, ANON.quota)

    refused = api.get(ME)

    body = assert_problem(refused, 429, "RATE_LIMITED")
    assert refused.headers["content-type"] == "application/problem+json"
    assert body["violated-policies"] == ["anon"]
    assert refused.headers["RateLimit-Policy"] == '"anon";q=3;w=60'
    name, remaining, reset = refused.headers["RateLimit"].split(";")
    assert (name, remaining) == ('"anon"', "r=0")
    seconds_until_next = int(reset.removeprefix("t="))
    assert 1 <= seconds_until_next <= 20  # one request's worth of refill, not the whole window
    assert int(refused.headers["Retry-After"]) >= seconds_until_next


def test_in_shadow_mode_the_request_past_the_quota_is_served_and_counted_as_limited(
    api: Api, server: Server, settings: Settings
) -> None:
    app = server.app
    original = app.ctx.rate_limiter
    shadow = settings.model_copy(update={"rate_limit_mode": "shadow"})
    policies = Policies(anon=ANON, user=USER, auth=AUTH)
    app.ctx.rate_limiter = RateLimiter(policies, shadow, app.ctx.redis, app.ctx.redis_breaker)
    try:
        would_refuse = decisions("anon", "limited", "shadow")
        enforced = decisions("anon", "limited")
        exhaust(api, ME, ANON.quota)

        past_quota = api.get(ME)
    finally:
        app.ctx.rate_limiter = original

    assert past_quota.status_code == 401  # what the route answers, not a 429
    assert past_quota.headers["RateLimit"].startswith('"anon";r=0;')
    assert "Retry-After" not in past_quota.headers
    assert decisions("anon", "limited", "shadow") == would_refuse + 1
    assert decisions("anon", "limited") == enforced


def test_unknown_routes_are_limited_too(api: Api, tight_limits: Policies) -> None:
    exhaust(api, "/api/v1/no-such-thing", ANON.quota)

    assert api.get("/wp-login.php").status_code == 429


def test_each_user_has_a_bucket_of_their_own_apart_from_the_address(
    api: Api, make: Factories, tight_limits: Policies
) -> None:
    alice, bob = make.user(), make.user()
    exhaust(api, ME, USER.quota, token=alice.token)

    refused = api.get(ME, token=alice.token)
    bob_answer = api.get(ME, token=bob.token)
    anonymous = api.get(ME)

    assert refused.status_code == 429
    assert refused.json()["violated-policies"] == ["user"]
    assert bob_answer.status_code == 200
    assert bob_answer.headers["RateLimit-Policy"] == '"user";q=4;w=60'
    assert bob_answer.headers["RateLimit"] == '"user";r=3;t=15'
    assert anonymous.headers["RateLimit"] == '"anon";r=2;t=20'


@pytest.mark.parametrize(
    ("ttl_seconds", "code"),
    [(-60, "TOKEN_EXPIRED"), (None, "TOKEN_INVALID")],
    ids=["expired", "forged"],
)
def test_a_bad_token_counts_against_the_address_and_still_answers_401(
    api: Api, settings: Settings, tight_limits: Policies, ttl_seconds: int | None, code: str
) -> None:
    if ttl_seconds is None:
        token, _ = security.issue_access_token(
            uuid.uuid4(), uuid.uuid4(), "another secret" * 4, 900
        )
    else:
        token, _ = security.issue_access_token(
            uuid.uuid4(), uuid.uuid4(), settings.jwt_secret, ttl_seconds
        )

    answer = api.get(ME, token=token)

    assert_problem(answer, 401, code)
    assert answer.headers["RateLimit"] == '"anon";r=2;t=20'


def test_auth_paths_are_governed_by_the_auth_policy_alone(
    api: Api, make: Factories, tight_limits: Policies
) -> None:
    user = make.user()
    first = api.post(LOGIN, json=WRONG_LOGIN)
    api.post(LOGIN, json=WRONG_LOGIN)

    refused = api.post(LOGIN, json=WRONG_LOGIN)
    # A bearer token does not move an auth path to the user's bucket.
    logout = api.post(LOGOUT, token=user.token, json={"refresh_token": "x"})
    # The address's anonymous bucket was not touched by any of that.
    anonymous = api.get(ME)

    assert first.status_code == 401
    assert first.headers["RateLimit-Policy"] == '"auth";q=2;w=60'
    assert first.headers["RateLimit"] == '"auth";r=1;t=30'
    assert refused.status_code == 429
    assert refused.json()["violated-policies"] == ["auth"]
    assert logout.status_code == 429
    assert anonymous.headers["RateLimit"] == '"anon";r=2;t=20'


@pytest.mark.parametrize("path", ["/health", "/health/ready", "/metrics", "/docs/openapi.json"])
def test_health_metrics_and_docs_are_never_limited(
    api: Api, tight_limits: Policies, path: str
) -> None:
    exhaust(api, ME, ANON.quota)
    assert api.get(ME).status_code == 429

    answer = api.get(path)

    assert answer.status_code == 200
    assert "RateLimit" not in answer.headers
    assert "RateLimit-Policy" not in answer.headers


def test_without_trusted_proxies_a_forged_forwarded_for_does_not_change_the_bucket(
    api: Api, tight_limits: Policies
) -> None:
    exhaust(api, ME, ANON.quota, headers={"X-Forwarded-For": "203.0.113.1"})

    answer = api.get(ME, headers={"X-Forwarded-For": "203.0.113.2"})

    assert answer.status_code == 429


def test_behind_one_trusted_proxy_the_forwarded_client_has_a_bucket_of_its_own(
    settings: Settings,
) -> None:
    with serving_variant(settings, proxies_count=1, rate_limit_anon="2/minute") as srv:
        api = Api(srv)
        exhaust(api, ME, 2, headers={"X-Forwarded-For": "203.0.113.1"})

        same_client = api.get(ME, headers={"X-Forwarded-For": "203.0.113.1"})
        other_client = api.get(ME, headers={"X-Forwarded-For": "203.0.113.2"})

    assert same_client.status_code == 429
    assert other_client.status_code == 401
    assert other_client.headers["RateLimit"] == '"anon";r=1;t=30'


@pytest.fixture
def hung_redis_url() -> Iterator[str]:
    """A port that accepts connections and never answers: a hung Redis."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


@pytest.mark.parametrize("redis", ["dead", "hung", "absent"])
def test_without_a_working_redis_the_in_process_limiter_enforces_the_same_policies(
    settings: Settings, hung_redis_url: str, redis: str
) -> None:
    redis_url = {
        "dead": DEAD_REDIS_URL,
        "hung": hung_redis_url,
        "absent": "none",  # REDIS_URL=none: the in-process limiter is the limiter
    }[redis]
    allowed_before, limited_before = decisions("anon", "allowed"), decisions("anon", "limited")

    with serving_variant(settings, redis_url=redis_url, rate_limit_anon="3/minute") as srv:
        api = Api(srv)
        answers = [api.get(ME) for _ in range(5)]
        breaker_open = not srv.app.ctx.redis_breaker.available()

    assert [a.status_code for a in answers] == [401, 401, 401, 429, 429]
    assert [a.headers["RateLimit"] for a in answers[:3]] == [
        '"anon";r=2;t=20',
        '"anon";r=1;t=40',
        '"anon";r=0;t=60',
    ]
    assert answers[3].json()["violated-policies"] == ["anon"]
    assert decisions("anon", "allowed") - allowed_before == 3
    assert decisions("anon", "limited") - limited_before == 2
    # A failed Redis is left alone for a while instead of costing every request a timeout.
    assert breaker_open == (redis != "absent")


def test_the_in_process_limiter_keeps_its_memory_bounded() -> None:
    limiter = LocalLimiter(max_buckets=10)
    policy = Policy("anon", RateLimit(5, 3600))

    for address in range(25):
        limiter.decide(f"anon:10.0.0.{address}", policy)

    assert len(limiter) <= 10
    # The newest client is remembered: its next request draws from the same bucket.
    assert limiter.decide("anon:10.0.0.24", policy).remaining == 3


def test_the_decision_comes_with_the_values_of_the_keys_asked_for(
    server: Server, settings: Settings
) -> None:
    app = server.app
    limiter = RateLimiter(
        Policies.from_settings(settings), settings, app.ctx.redis, app.ctx.redis_breaker
    )
    held, absent = (f"{settings.redis_key_prefix}test-read:{uuid.uuid4()}" for _ in range(2))
    assert app.ctx.redis is not None
    server.run(app.ctx.redis.set(held, b"1764"))

    verdict = server.run(
        limiter.decide(Policy("anon", RateLimit(5, 60)), "10.0.0.9", generation_keys=[absent, held])
    )

    assert verdict.decision.allowed
    assert verdict.generations == {held: b"1764"}  # an absent key is left out
