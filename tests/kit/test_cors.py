"""CORS: only the origins in CORS_ORIGINS get cross-origin access, each its own exact origin; any
other origin gets no CORS headers; preflights pass for listed origins and are never limited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sanic import Request
from sanic.response import HTTPResponse, text

from service.config import Settings
from service.kit.cors import ALLOWED_REQUEST_HEADERS
from tests.support.api import ME, SESSIONS
from tests.support.servers import Api, serving, serving_variant, variant_app

APP_ORIGIN = "https://app.example.com"
ADMIN_ORIGIN = "https://admin.example.com"
ORIGINS = f"{APP_ORIGIN}, {ADMIN_ORIGIN}"
EXPOSED = {"ratelimit", "ratelimit-policy", "retry-after", "etag", "x-request-id"}


def preflight(
    api: Api, path: str, origin: str, method: str = "POST", headers: str = ""
) -> httpx.Response:
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        request_headers["Access-Control-Request-Headers"] = headers
    return api.request("OPTIONS", path, headers=request_headers)


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


def names(header_value: str) -> set[str]:
    return {name.strip().lower() for name in header_value.split(",")}


@pytest.fixture(scope="module")
def cross_origin(settings: Settings) -> Iterator[Api]:
    """The app with two allowed origins."""
    with serving_variant(settings, cors_origins=ORIGINS) as srv:
        yield Api(srv)


@pytest.mark.parametrize("origin", [APP_ORIGIN, ADMIN_ORIGIN])
def test_a_listed_origin_gets_itself_back_and_may_read_the_documented_headers(
    cross_origin: Api, origin: str
) -> None:
    answer = cross_origin.get(ME, headers={"Origin": origin})

    assert answer.status_code == 401  # error responses are readable cross-origin too
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    assert "origin" in names(answer.headers["Vary"])
    assert names(answer.headers["Access-Control-Expose-Headers"]) == EXPOSED
    assert "Access-Control-Allow-Credentials" not in answer.headers


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example.com", "https://app.example.com.evil.example", "http://app.example.com"],
)
def test_any_other_origin_gets_no_cors_headers_at_all(cross_origin: Api, origin: str) -> None:
    plain = cross_origin.get(ME, headers={"Origin": origin})
    asked = preflight(cross_origin, ME, origin, "GET", "authorization")

    assert cors_headers(plain) == {}
    assert cors_headers(asked) == {}
    # The answer still depends on the Origin, so shared caches must keep the copies apart.
    assert "origin" in names(plain.headers["Vary"])


def test_a_request_without_origin_gets_no_cors_headers(settings: Settings) -> None:
    # One listed origin: sanic-ext's default would send it even to requests without Origin.
    with serving_variant(settings, cors_origins=APP_ORIGIN) as srv:
        answer = Api(srv).get(ME)

    assert cors_headers(answer) == {}


def test_a_preflight_from_a_listed_origin_allows_the_documented_request_headers(
    cross_origin: Api,
) -> None:
    asked = ", ".join(ALLOWED_REQUEST_HEADERS)

    answer = preflight(cross_origin, SESSIONS, APP_ORIGIN, "POST", asked)

    assert 200 <= answer.status_code < 300
    assert answer.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert names(answer.headers["Access-Control-Allow-Headers"]) == {
        "authorization",
        "content-type",
        "idempotency-key",
        "if-none-match",
        "x-request-id",
    }
    assert "post" in names(answer.headers["Access-Control-Allow-Methods"])
    assert answer.headers["Access-Control-Max-Age"] == "600"


def test_a_preflight_does_not_allow_other_request_headers(cross_origin: Api) -> None:
    answer = preflight(cross_origin, SESSIONS, APP_ORIGIN, "POST", "X-Debug-Mode")

    assert "Access-Control-Allow-Headers" not in answer.headers


def test_preflights_are_never_rate_limited_nor_spend_the_address_quota(settings: Settings) -> None:
    with serving_variant(settings, cors_origins=ORIGINS, rate_limit_anon="2/minute") as srv:
        api = Api(srv)
        preflights = [preflight(api, ME, APP_ORIGIN, "GET", "authorization") for _ in range(5)]
        first_real_request = api.get(ME, headers={"Origin": APP_ORIGIN})

    assert all(200 <= p.status_code < 300 for p in preflights)
    assert all(p.headers["Access-Control-Allow-Origin"] == APP_ORIGIN for p in preflights)
    assert all("RateLimit" not in p.headers for p in preflights)
    assert first_real_request.headers["RateLimit"] == '"anon";r=1;t=30'


def test_a_429_to_a_listed_origin_is_readable_with_its_retry_after(settings: Settings) -> None:
    with serving_variant(settings, cors_origins=ORIGINS, rate_limit_anon="1/minute") as srv:
        api = Api(srv)
        api.get(ME, headers={"Origin": APP_ORIGIN})
        refused = api.get(ME, headers={"Origin": APP_ORIGIN})

    assert refused.status_code == 429
    assert refused.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert {"retry-after", "ratelimit"} <= names(refused.headers["Access-Control-Expose-Headers"])


def test_a_vary_set_by_a_handler_is_kept_beside_origin(settings: Settings) -> None:
    app = variant_app(settings, cors_origins=ORIGINS)

    @app.get("/varies")
    async def varies(_: Request) -> HTTPResponse:
        return text("negotiated", headers={"Vary": "Accept-Language"})

    with serving(app) as srv:
        allowed = Api(srv).get("/varies", headers={"Origin": APP_ORIGIN})
        other = Api(srv).get("/varies", headers={"Origin": "https://evil.example.com"})

    assert names(allowed.headers["Vary"]) == {"accept-language", "origin"}
    assert names(other.headers["Vary"]) == {"accept-language", "origin"}


def test_without_cors_origins_no_origin_gets_cross_origin_access(api: Api) -> None:
    plain = api.get(ME, headers={"Origin": APP_ORIGIN})
    asked = preflight(api, ME, APP_ORIGIN, "GET", "authorization")

    assert cors_headers(plain) == {}
    assert cors_headers(asked) == {}
    assert "Vary" not in plain.headers  # nothing depends on the Origin


def test_production_refuses_a_wildcard_origin() -> None:
    production: dict[str, Any] = {
        "env": "production",
        "database_url": "postgres://praxis@db:5432/praxis",
        "redis_url": "redis://cache:6379/0",
        "jwt_secret": "Vq3xN8rT2mKp7LwZ5yHc9BfJ4dGs6AeU",
    }

    wildcard = Settings(**production, cors_origins="*")
    listed = Settings(**production, cors_origins=ORIGINS)

    assert wildcard.production_problems() == [
        "CORS_ORIGINS='*' is refused in production; list exact origins"
    ]
    assert listed.production_problems() == []
