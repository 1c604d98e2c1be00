"""Security headers on every answer, no-store on token answers and bearer requests, the per-worker
cap on requests in progress, the size limits of a request's head and body, and the JSON depth
limit."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sanic.response import HTTPResponse, empty

from service.app import MAX_REQUEST_HEAD_BYTES
from service.kit.hardening import HSTS
from service.kit.web import MAX_JSON_DEPTH
from tests.support.api import LOGIN, ME, SESSIONS, TAGS, start_session
from tests.support.factories import DEFAULT_PASSWORD, Factories
from tests.support.problems import assert_problem
from tests.support.servers import Api, App, ServeVariant


def _assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff", response.headers
    assert response.headers["referrer-policy"] == "no-referrer", response.headers
    assert "strict-transport-security" not in response.headers  # not in production


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", TAGS, 200),
        ("GET", "/health", 200),
        ("GET", "/api/v1/nowhere", 404),
        ("DELETE", TAGS, 405),
        ("GET", ME, 401),
        ("POST", LOGIN, 422),
    ],
)
def test_every_answer_carries_the_security_headers(
    api: Api, method: str, path: str, status: int
) -> None:
    response = api.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == status, response.text
    _assert_security_headers(response)


def test_an_oversized_body_is_a_413_with_the_security_headers(api: Api) -> None:
    response = api.post(
        LOGIN, content=b"x" * (1024 * 1024 + 1), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")
    _assert_security_headers(response)


@pytest.mark.parametrize(
    "oversized",
    [
        {"path": "/api/v1/content/" + "a" * MAX_REQUEST_HEAD_BYTES},
        {"path": TAGS, "params": {"q": "a" * MAX_REQUEST_HEAD_BYTES}},
        {"path": TAGS, "headers": {"X-Padding": "a" * MAX_REQUEST_HEAD_BYTES}},
    ],
    ids=["path", "query", "header"],
)
def test_a_request_head_over_its_limit_is_a_431_on_any_route(
    api: Api, oversized: dict[str, Any]
) -> None:
    """The request line and headers are read (and limited) before any route: not a body's 413."""
    response = api.get(oversized.pop("path"), **oversized)
    assert_problem(response, 431, "HEADERS_TOO_LARGE")
    _assert_security_headers(response)
    assert api.get(TAGS).status_code == 200


def test_production_adds_strict_transport_security(other_app: ServeVariant) -> None:
    response = other_app(env="production").get(TAGS)
    assert response.headers["strict-transport-security"] == HSTS


def test_token_answers_and_bearer_requests_are_not_stored(api: Api, make: Factories) -> None:
    user = make.user()
    login = api.post(LOGIN, json={"email": user.email, "password": DEFAULT_PASSWORD})
    assert login.status_code == 200, login.text
    assert login.headers["cache-control"] == "no-store"
    me = api.get(ME, token=user.token)
    assert me.status_code == 200
    assert me.headers["cache-control"] == "no-store"
    refused = api.get(f"{SESSIONS}/00000000-0000-0000-0000-000000000000", token=user.token)
    assert refused.status_code == 404
    assert refused.headers["cache-control"] == "no-store"
    assert api.get(TAGS).headers.get("cache-control") != "no-store"


def test_past_the_cap_a_worker_answers_503_at_once_and_probes_still_pass(
    other_app: ServeVariant,
) -> None:
    release = asyncio.Event()

    def with_a_slow_route(app: App) -> None:
        @app.get("/test/slow")
        async def slow(_: object) -> HTTPResponse:
            await release.wait()
            return empty()

    client = other_app(with_a_slow_route, max_concurrent_requests=2)

    async def crowd() -> tuple[list[httpx.Response], httpx.Response, httpx.Response]:
        http = client.srv.http
        holding = [asyncio.create_task(http.get("/test/slow")) for _ in range(2)]
        while client.srv.app.ctx.admission.in_progress < 2:
            await asyncio.sleep(0.01)  # until both are being served, bounded by the test timeout
        refused = await http.get(TAGS)
        probe = await http.get("/health/ready")
        release.set()
        return list(await asyncio.gather(*holding)), refused, probe

    held, refused, probe = client.srv.run(crowd())
    assert [response.status_code for response in held] == [204, 204]
    body = assert_problem(refused, 503, "SERVICE_UNAVAILABLE")
    assert "capacity" in body["detail"]
    assert refused.headers["retry-after"] == "1"
    assert probe.status_code == 200
    assert client.get(TAGS).status_code == 200
    assert client.srv.app.ctx.admission.in_progress == 0


def _nested(depth: int) -> dict[str, object]:
    value: dict[str, object] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_json_nested_past_the_limit_is_refused(api: Api, make: Factories) -> None:
    user = make.user()
    session = start_session(api, user, make.content()).json()
    events = f"{SESSIONS}/{session['id']}/events"
    # The body object itself is one level, "data" the next.
    within = api.post(
        events, token=user.token, json={"kind": "k", "data": _nested(MAX_JSON_DEPTH - 1)}
    )
    assert within.status_code == 201, within.text
    deeper = api.post(events, token=user.token, json={"kind": "k", "data": _nested(MAX_JSON_DEPTH)})
    body = assert_problem(deeper, 422, "VALIDATION_FAILED")
    assert body["errors"][0]["field"] == "body"
    far_deeper = api.post(
        events,
        token=user.token,
        content=b'{"kind": "k", "data": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert_problem(far_deeper, 400, "MALFORMED_JSON")
