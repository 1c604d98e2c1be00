"""The one catalog of error codes is the error reference: /docs/errors (an anchor per code),
/docs/errors.json and docs/errors.md are generated from it, every problem's type points into it,
and every code is produced by a request below (except those whose endpoints do not exist yet)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sanic import Request

from service.kit import security
from service.kit.errors import ErrorCode
from service.reference.errors_reference import render_markdown
from tests.support.factories import Factories
from tests.support.processes import free_port
from tests.support.servers import Api, App, ServeVariant

ERRORS_DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
PUBLIC_URL = "http://127.0.0.1:8000"  # the test settings' HOST and PORT


class Provoke:
    """What a provoker may use: the served app, factories, and variant apps."""

    def __init__(self, api: Api, make: Factories, other_app: ServeVariant) -> None:
        self.api = api
        self.make = make
        self.other_app = other_app


def _json_post(
    path: str, body: bytes, content_type: str = "application/json"
) -> Callable[[Provoke], httpx.Response]:
    return lambda p: p.api.post(path, content=body, headers={"content-type": content_type})


def _token_expired(p: Provoke) -> httpx.Response:
    user = p.make.user()
    token, _ = security.issue_access_token(user.id, uuid.uuid4(), p.make.settings.jwt_secret, -60)
    return p.api.get("/api/v1/users/me", token=token)


def _token_revoked(p: Provoke) -> httpx.Response:
    user = p.make.user()
    login = p.api.post("/api/v1/auth/login", json={"email": user.email, "password": user.password})
    refresh = {"refresh_token": login.json()["refresh_token"]}
    p.api.post("/api/v1/auth/refresh", json=refresh)
    return p.api.post("/api/v1/auth/refresh", json=refresh)


def _email_taken(p: Provoke) -> httpx.Response:
    user = p.make.user()
    registration = {"email": user.email, "password": "long enough", "display_name": "Twin"}
    return p.api.post("/api/v1/auth/register", json=registration)


def _slug_taken(p: Provoke) -> httpx.Response:
    p.make.content(slug="taken")
    body: dict[str, Any] = {
        "title": "Taken",
        "summary": "",
        "body": "",
        "kind": "lesson",
        "category": "python",
    }
    body |= {"difficulty": "beginner", "duration_minutes": 5, "tags": [], "slug": "taken"}
    return p.api.post("/api/v1/admin/content", token=p.make.editor().token, json=body)


def _content_in_use(p: Provoke) -> httpx.Response:
    item = p.make.content()
    p.make.practice_session(p.make.user(), item)
    return p.api.delete(f"/api/v1/admin/content/{item.id}", token=p.make.admin().token)


def _role_exists(p: Provoke) -> httpx.Response:
    taken: dict[str, object] = {"name": p.make.role(), "permissions": []}
    return p.api.post("/api/v1/admin/roles", token=p.make.admin().token, json=taken)


def _role_builtin(p: Provoke) -> httpx.Response:
    change: dict[str, list[str]] = {"permissions": []}
    return p.api.put("/api/v1/admin/roles/editor", token=p.make.admin().token, json=change)


def _last_admin(p: Provoke) -> httpx.Response:
    """The only active admin takes the role from themself."""
    admin = p.make.admin()
    roles = {"roles": ["member"]}
    return p.api.put(f"/api/v1/admin/users/{admin.id}/roles", token=admin.token, json=roles)


def _session_limit(p: Provoke) -> httpx.Response:
    user, item = p.make.user(), p.make.content()
    for _ in range(5):
        p.make.practice_session(user, item)
    return p.api.post("/api/v1/sessions", token=user.token, json={"content_slug": item.slug})


def _session_closed(p: Provoke) -> httpx.Response:
    user = p.make.user()
    session = p.make.practice_session(user, p.make.content(), status="abandoned")
    return p.api.patch(f"/api/v1/sessions/{session.id}", token=user.token, json={"progress": 5})


def _idempotency_key_reused(p: Provoke) -> httpx.Response:
    user, first, second = p.make.user(), p.make.content(), p.make.content()
    key = {"Idempotency-Key": "retry-1"}
    for item in (first, second):
        body = {"content_slug": item.slug}
        answer = p.api.post("/api/v1/sessions", token=user.token, json=body, headers=key)
    return answer


def _rate_limited(p: Provoke) -> httpx.Response:
    limited = p.other_app(rate_limit_anon="1/minute")
    limited.get("/api/v1/tags")
    return limited.get("/api/v1/tags")


def _internal_error(p: Provoke) -> httpx.Response:
    def add_failing_route(app: App) -> None:
        @app.get("/fails")
        async def fails(_: Request) -> None:
            raise RuntimeError("a bug")

    return p.other_app(configure=add_failing_route).get("/fails")


def _service_unavailable(p: Provoke) -> httpx.Response:
    """A real refused connection: nothing listens on the port the route connects to."""
    port = free_port()

    def add_route_to_a_dead_database(app: App) -> None:
        @app.get("/needs-a-database")
        async def needs_a_database(_: Request) -> None:
            await asyncpg.connect(f"postgres://postgres@127.0.0.1:{port}/none", timeout=2)

    return p.other_app(configure=add_route_to_a_dead_database).get("/needs-a-database")


PROVOKERS: dict[ErrorCode, Callable[[Provoke], httpx.Response]] = {
    ErrorCode.VALIDATION_FAILED: lambda p: p.api.get("/api/v1/content?limit=0"),
    ErrorCode.MALFORMED_JSON: _json_post("/api/v1/auth/login", b'{"email": '),
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: _json_post("/api/v1/auth/login", b"{}", "text/plain"),
    ErrorCode.PAYLOAD_TOO_LARGE: _json_post("/api/v1/auth/login", b" " * (2 * 1024 * 1024)),
    ErrorCode.HEADERS_TOO_LARGE: lambda p: p.api.get("/api/v1/tags", params={"q": "a" * 9000}),
    ErrorCode.AUTH_REQUIRED: lambda p: p.api.get("/api/v1/users/me"),
    ErrorCode.TOKEN_EXPIRED: _token_expired,
    ErrorCode.TOKEN_INVALID: lambda p: p.api.get("/api/v1/users/me", token="not-a-jwt"),
    ErrorCode.TOKEN_REVOKED: _token_revoked,
    ErrorCode.INVALID_CREDENTIALS: lambda p: p.api.post(
        "/api/v1/auth/login", json={"email": p.make.user().email, "password": "wrong"}
    ),
    ErrorCode.ACCOUNT_DISABLED: lambda p: p.api.get(
        "/api/v1/users/me", token=p.make.user(is_active=False).token
    ),
    ErrorCode.PERMISSION_DENIED: lambda p: p.api.get(
        "/api/v1/admin/content", token=p.make.user().token
    ),
    ErrorCode.NOT_FOUND: lambda p: p.api.get("/api/v1/content/no-such-item"),
    ErrorCode.METHOD_NOT_ALLOWED: lambda p: p.api.request("TRACE", "/api/v1/tags"),
    ErrorCode.EMAIL_TAKEN: _email_taken,
    ErrorCode.SLUG_TAKEN: _slug_taken,
    ErrorCode.CONTENT_IN_USE: _content_in_use,
    ErrorCode.ROLE_EXISTS: _role_exists,
    ErrorCode.ROLE_BUILTIN: _role_builtin,
    ErrorCode.LAST_ADMIN: _last_admin,
    ErrorCode.SESSION_LIMIT: _session_limit,
    ErrorCode.SESSION_CLOSED: _session_closed,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: _idempotency_key_reused,
    ErrorCode.RATE_LIMITED: _rate_limited,
    ErrorCode.INTERNAL_ERROR: _internal_error,
    ErrorCode.SERVICE_UNAVAILABLE: _service_unavailable,
}


def test_every_code_is_provoked_below() -> None:
    assert set(PROVOKERS) == set(ErrorCode)


@pytest.mark.parametrize("code", list(PROVOKERS), ids=lambda code: code.name)
def test_each_code_is_answered_as_a_problem_pointing_at_its_reference(
    code: ErrorCode, api: Api, make: Factories, other_app: ServeVariant
) -> None:
    response = PROVOKERS[code](Provoke(api, make, other_app))
    assert response.status_code == code.status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code.name
    assert body["status"] == code.status
    assert body["type"] == f"{PUBLIC_URL}/docs/errors#{code.name}"
    assert "Traceback" not in response.text


def test_the_error_reference_page_has_an_anchor_per_code(api: Api) -> None:
    page = api.get("/docs/errors")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    anchors = set(re.findall(r'<section id="([A-Z_]+)"', page.text))
    assert anchors == {code.name for code in ErrorCode}
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page.text)  # nothing from elsewhere


def test_the_error_reference_as_json_lists_every_code_with_its_type(api: Api) -> None:
    items = api.get("/docs/errors.json").json()["items"]
    assert [item["code"] for item in items] == [code.name for code in ErrorCode]
    for item in items:
        code = ErrorCode[item["code"]]
        assert item == {
            "code": code.name,
            "status": code.status,
            "title": code.title,
            "description": code.description,
            "type": f"{PUBLIC_URL}/docs/errors#{code.name}",
        }
        assert len(item["description"]) > 40, code  # says what happened and what to do


def test_the_type_uris_follow_public_url(other_app: ServeVariant) -> None:
    behind_a_proxy = other_app(public_url="https://api.example.com/")
    body = behind_a_proxy.get("/api/v1/no-such-route").json()
    assert body["type"] == "https://api.example.com/docs/errors#NOT_FOUND"


def test_docs_errors_md_is_generated_from_the_catalog() -> None:
    """Regenerate with: python -m service.reference.errors_reference > docs/errors.md"""
    assert ERRORS_DOC.read_text() == render_markdown()


def test_docs_errors_md_names_exactly_the_codes_of_the_catalog() -> None:
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", ERRORS_DOC.read_text(), re.MULTILINE))
    assert documented == {code.name for code in ErrorCode}
