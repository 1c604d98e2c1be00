"""GET /api/v1/users/me and the bearer-token failures every guarded route shares."""

import time
import uuid

import jwt

from service.config import Settings
from service.models import User
from tests.support.api import LOGIN, ME, REGISTER
from tests.support.factories import Factories
from tests.support.problems import assert_problem
from tests.support.servers import Api, Server


def test_me_describes_the_caller_with_roles_and_permissions(api: Api, make: Factories) -> None:
    user = make.user()
    response = api.get(ME, token=user.token)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(user.id)
    assert body["email"] == user.email
    assert body["roles"] == ["member"]
    assert body["permissions"] == []
    assert set(body) == {"id", "email", "display_name", "roles", "permissions", "created_at"}


def test_permissions_are_fully_expanded_for_an_admin(api: Api, make: Factories) -> None:
    body = api.get(ME, token=make.admin().token).json()
    assert "admin" in body["roles"]
    assert "roles:manage" in body["permissions"]
    assert "audit:read" in body["permissions"]
    assert all("*" not in p for p in body["permissions"])


def test_editor_has_exactly_the_content_permissions(api: Api, make: Factories) -> None:
    body = api.get(ME, token=make.editor().token).json()
    assert body["permissions"] == [
        "content:delete",
        "content:publish",
        "content:read",
        "content:write",
    ]


def test_a_role_change_applies_to_the_next_request(api: Api, make: Factories) -> None:
    user, admin = make.user(), make.admin()
    assert api.get(ME, token=user.token).json()["permissions"] == []

    roles = {"roles": ["editor", "member"]}
    api.put(f"/api/v1/admin/users/{user.id}/roles", token=admin.token, json=roles)
    assert "content:write" in api.get(ME, token=user.token).json()["permissions"]


def test_no_token_is_auth_required(api: Api) -> None:
    response = api.get(ME)
    assert_problem(response, 401, "AUTH_REQUIRED")


def test_a_non_bearer_scheme_is_auth_required(api: Api) -> None:
    response = api.get(ME, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_problem(response, 401, "AUTH_REQUIRED")


def test_an_expired_token_is_token_expired(api: Api, make: Factories, settings: Settings) -> None:
    user = make.user()
    now = int(time.time())
    token = jwt.encode(
        {
            "sub": str(user.id),
            "iat": now - 100,
            "exp": now - 10,
            "jti": "x",
            "iss": "praxis",
            "typ": "access",
        },
        settings.jwt_secret,
        algorithm="HS256",
    )
    response = api.get(ME, token=token)
    assert_problem(response, 401, "TOKEN_EXPIRED")


def test_a_token_signed_with_another_key_is_token_invalid(api: Api, make: Factories) -> None:
    user = make.user()
    now = int(time.time())
    token = jwt.encode(
        {
            "sub": str(user.id),
            "iat": now,
            "exp": now + 60,
            "jti": "x",
            "iss": "praxis",
            "typ": "access",
        },
        "another-secret-another-secret-another-secret",
        algorithm="HS256",
    )
    assert_problem(api.get(ME, token=token), 401, "TOKEN_INVALID")


def test_an_unsigned_alg_none_token_is_refused(api: Api, make: Factories) -> None:
    user = make.user()
    now = int(time.time())
    token = jwt.encode(
        {"sub": str(user.id), "iat": now, "exp": now + 60, "jti": "x", "iss": "praxis"},
        key=None,
        algorithm="none",
    )
    assert_problem(api.get(ME, token=token), 401, "TOKEN_INVALID")


def test_a_token_missing_required_claims_is_invalid(api: Api, settings: Settings) -> None:
    token = jwt.encode({"sub": str(uuid.uuid4())}, settings.jwt_secret, algorithm="HS256")
    assert_problem(api.get(ME, token=token), 401, "TOKEN_INVALID")


def test_a_token_for_a_deleted_user_is_invalid(api: Api, make: Factories, server: Server) -> None:
    user = make.user()
    server.run(User.filter(id=user.id).delete())
    assert_problem(api.get(ME, token=user.token), 401, "TOKEN_INVALID")


def test_a_disabled_user_is_refused_on_the_next_request(
    api: Api, make: Factories, server: Server
) -> None:
    user = make.user()
    server.run(User.filter(id=user.id).update(is_active=False))
    response = api.get(ME, token=user.token)
    assert_problem(response, 403, "ACCOUNT_DISABLED")


def test_a_registered_user_can_log_in_and_read_their_own_profile(api: Api) -> None:
    api.post(
        REGISTER,
        json={"email": "lin@example.com", "password": "long enough", "display_name": "Lin"},
    )
    pair = api.post(LOGIN, json={"email": "lin@example.com", "password": "long enough"}).json()
    assert api.get(ME, token=pair["access_token"]).json()["display_name"] == "Lin"
