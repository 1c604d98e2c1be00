"""What a caller without the rights tries: every admin route as a member, granting itself a
role, an editor managing roles, forged and stale tokens, someone else's session, and fields a
body must not be able to set."""

from __future__ import annotations

import json
import re
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from service.config import Settings
from tests.support.factories import Account, Factories
from tests.support.problems import assert_problem
from tests.support.servers import Api, Server

ME = "/api/v1/users/me"
USERS = "/api/v1/admin/users"
ROLES = "/api/v1/admin/roles"


def admin_routes(server: Server) -> Iterator[tuple[str, str]]:
    for route in server.app.router.routes:
        path = "/" + route.path.lstrip("/")
        if path.startswith("/api/v1/admin"):
            concrete = re.sub(r"<name:[^>]*>", "member", path)
            concrete = re.sub(r"<[^>]*>", str(uuid.uuid4()), concrete)
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                yield method, concrete


def test_a_member_is_denied_every_admin_route(api: Api, make: Factories, server: Server) -> None:
    member = make.user()
    routes = list(admin_routes(server))
    assert len(routes) >= 13
    for method, path in routes:
        response = api.request(method, path, token=member.token, json={})
        assert_problem(response, 403, "PERMISSION_DENIED")


def test_a_member_cannot_grant_itself_a_role(api: Api, make: Factories) -> None:
    member = make.user()
    response = api.put(f"{USERS}/{member.id}/roles", token=member.token, json={"roles": ["admin"]})
    assert_problem(response, 403, "PERMISSION_DENIED")
    assert api.get(ME, token=member.token).json()["roles"] == ["member"]


def test_an_editor_cannot_change_roles(api: Api, make: Factories) -> None:
    editor, member = make.editor(), make.user()
    attempts = [
        api.put(f"{USERS}/{member.id}/roles", token=editor.token, json={"roles": ["editor"]}),
        api.put(f"{USERS}/{editor.id}/roles", token=editor.token, json={"roles": ["admin"]}),
        api.post(ROLES, token=editor.token, json={"name": "mine", "permissions": ["roles:assign"]}),
        api.put(f"{ROLES}/editor", token=editor.token, json={"permissions": ["roles:assign"]}),
    ]
    for response in attempts:
        assert_problem(response, 403, "PERMISSION_DENIED")


def claims_of(user: Account, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": str(user.id),
        "sid": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 60,
        "jti": "j",
        "iss": "praxis",
        "typ": "access",
    }
    return {**claims, **changes}


def hs512(claims: dict[str, Any], secret: str) -> str:
    """Signed with the service's own key, by an algorithm outside its allow-list."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)  # the key is for HS256
        return jwt.encode(claims, secret, algorithm="HS512")


def test_a_token_with_a_changed_subject_is_refused(api: Api, make: Factories) -> None:
    victim, attacker = make.admin(), make.user()
    header, payload, signature = attacker.token.split(".")
    forged_payload = jwt.utils.base64url_encode(json.dumps(claims_of(victim)).encode()).decode()
    forged = f"{header}.{forged_payload}.{signature}"
    assert_problem(api.get(USERS, token=forged), 401, "TOKEN_INVALID")


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda user, _: jwt.encode(claims_of(user), None, algorithm="none"), "TOKEN_INVALID"),
        (
            lambda user, secret: hs512(claims_of(user), secret),
            "TOKEN_INVALID",
        ),
        (
            lambda user, _: jwt.encode(claims_of(user), "wrong-" * 8, algorithm="HS256"),
            "TOKEN_INVALID",
        ),
        (
            lambda user, secret: jwt.encode(
                claims_of(user, exp=int(time.time()) - 5), secret, algorithm="HS256"
            ),
            "TOKEN_EXPIRED",
        ),
        (
            lambda user, secret: jwt.encode(claims_of(user, sid="x"), secret, algorithm="HS256"),
            "TOKEN_INVALID",
        ),
        (
            lambda user, secret: jwt.encode(
                claims_of(user, typ="refresh"), secret, algorithm="HS256"
            ),
            "TOKEN_INVALID",
        ),
    ],
    ids=["alg-none", "other-algorithm", "wrong-key", "expired", "bad-sid", "not-access"],
)
def test_forged_or_stale_tokens_are_refused(
    api: Api,
    make: Factories,
    settings: Settings,
    make_token: Callable[[Account, str], str],
    code: str,
) -> None:
    token = make_token(make.admin(), settings.jwt_secret)
    assert_problem(api.get(USERS, token=token), 401, code)


def test_a_deactivated_user_s_still_valid_token_is_refused(api: Api, make: Factories) -> None:
    admin, user = make.admin(), make.user()
    assert api.get(ME, token=user.token).status_code == 200
    api.patch(f"{USERS}/{user.id}", token=admin.token, json={"is_active": False})
    assert_problem(api.get(ME, token=user.token), 403, "ACCOUNT_DISABLED")
    assert_problem(api.get("/api/v1/history", token=user.token), 403, "ACCOUNT_DISABLED")


def test_another_user_s_session_is_not_found(api: Api, make: Factories) -> None:
    owner, other = make.user(), make.user()
    session = make.practice_session(owner, make.content())
    for method, suffix in (("GET", ""), ("PATCH", ""), ("POST", "/complete")):
        response = api.request(
            method, f"/api/v1/sessions/{session.id}{suffix}", token=other.token, json={}
        )
        assert_problem(response, 404, "NOT_FOUND")


@pytest.mark.parametrize(
    "extra", [{"roles": ["admin"]}, {"is_active": False}, {"permissions": ["roles:manage"]}]
)
def test_register_refuses_fields_it_must_not_set(api: Api, extra: dict[str, Any]) -> None:
    body = {"email": "eve@example.com", "password": "long enough", "display_name": "Eve", **extra}
    assert_problem(api.post("/api/v1/auth/register", json=body), 422, "VALIDATION_FAILED")
    login = api.post("/api/v1/auth/login", json={"email": "eve@example.com", "password": "x"})
    assert login.status_code == 401  # no account was created
