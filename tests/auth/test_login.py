"""POST /api/v1/auth/login"""

import jwt

from service.config import Settings
from tests.support.api import LOGIN
from tests.support.factories import Factories
from tests.support.problems import assert_problem
from tests.support.servers import Api


def test_login_answers_a_bearer_token_pair(api: Api, make: Factories, settings: Settings) -> None:
    user = make.user()
    response = api.post(LOGIN, json={"email": user.email, "password": user.password})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.jwt_access_ttl_seconds
    assert body["refresh_token"]
    claims = jwt.decode(body["access_token"], settings.jwt_secret, algorithms=["HS256"])
    assert claims["sub"] == str(user.id)
    assert {"exp", "iat", "jti", "sub"} <= set(claims)


def test_login_accepts_the_email_in_any_case(api: Api, make: Factories) -> None:
    user = make.user(email="grace@example.com")
    response = api.post(LOGIN, json={"email": "Grace@EXAMPLE.com", "password": user.password})
    assert response.status_code == 200


def test_a_wrong_password_is_invalid_credentials(api: Api, make: Factories) -> None:
    user = make.user()
    response = api.post(LOGIN, json={"email": user.email, "password": "wrong password"})
    assert_problem(response, 401, "INVALID_CREDENTIALS")


def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(api: Api) -> None:
    response = api.post(LOGIN, json={"email": "nobody@example.com", "password": "whatever1"})
    assert_problem(response, 401, "INVALID_CREDENTIALS")


def test_a_disabled_account_cannot_log_in(api: Api, make: Factories) -> None:
    user = make.user(is_active=False)
    response = api.post(LOGIN, json={"email": user.email, "password": user.password})
    assert_problem(response, 403, "ACCOUNT_DISABLED")


def test_two_logins_issue_distinct_tokens(api: Api, make: Factories) -> None:
    user = make.user()
    credentials = {"email": user.email, "password": user.password}
    first = api.post(LOGIN, json=credentials).json()
    second = api.post(LOGIN, json=credentials).json()
    assert first["access_token"] != second["access_token"]
    assert first["refresh_token"] != second["refresh_token"]
