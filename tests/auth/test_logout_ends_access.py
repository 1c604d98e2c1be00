"""A login is a refresh-token family, named in its access tokens (``sid``): logout and a reused
refresh token end it, refresh and access tokens alike, from the next request on."""

from __future__ import annotations

from typing import Any

import jwt

from service.config import Settings
from service.models import RefreshToken
from tests.support.factories import Account, Factories
from tests.support.problems import assert_problem
from tests.support.servers import Api, Server

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/users/me"


def login(api: Api, user: Account) -> dict[str, Any]:
    pair: dict[str, Any] = api.post(
        LOGIN, json={"email": user.email, "password": user.password}
    ).json()
    return pair


def test_access_tokens_name_their_login(api: Api, make: Factories, settings: Settings) -> None:
    pair = login(api, make.user())
    claims = jwt.decode(pair["access_token"], settings.jwt_secret, algorithms=["HS256"])
    rotated = api.post(REFRESH, json={"refresh_token": pair["refresh_token"]}).json()
    again = jwt.decode(rotated["access_token"], settings.jwt_secret, algorithms=["HS256"])
    assert claims["sid"] == again["sid"]  # one login across rotations


def test_after_logout_that_login_s_access_tokens_are_refused(api: Api, make: Factories) -> None:
    user = make.user()
    ended, kept = login(api, user), login(api, user)
    rotated = api.post(REFRESH, json={"refresh_token": ended["refresh_token"]}).json()
    assert api.get(ME, token=ended["access_token"]).status_code == 200  # cached as valid

    response = api.post(
        LOGOUT, token=rotated["access_token"], json={"refresh_token": rotated["refresh_token"]}
    )

    assert response.status_code == 204
    for token in (ended["access_token"], rotated["access_token"]):
        assert_problem(api.get(ME, token=token), 401, "TOKEN_REVOKED")
    assert api.get(ME, token=kept["access_token"]).status_code == 200
    assert api.post(REFRESH, json={"refresh_token": kept["refresh_token"]}).status_code == 200


def test_logout_with_another_user_s_refresh_token_ends_nothing(api: Api, make: Factories) -> None:
    mine, theirs = login(api, make.user()), login(api, make.user())
    response = api.post(
        LOGOUT, token=mine["access_token"], json={"refresh_token": theirs["refresh_token"]}
    )
    assert response.status_code == 204
    assert api.get(ME, token=theirs["access_token"]).status_code == 200
    assert api.post(REFRESH, json={"refresh_token": theirs["refresh_token"]}).status_code == 200


def test_reusing_a_spent_refresh_token_ends_the_login_s_access_tokens(
    api: Api, make: Factories
) -> None:
    pair = login(api, make.user())
    rotated = api.post(REFRESH, json={"refresh_token": pair["refresh_token"]}).json()
    assert api.get(ME, token=rotated["access_token"]).status_code == 200

    api.post(REFRESH, json={"refresh_token": pair["refresh_token"]})  # a thief's replay

    assert_problem(api.get(ME, token=rotated["access_token"]), 401, "TOKEN_REVOKED")


def test_a_concurrent_reuse_revokes_the_successor_too(
    api: Api, make: Factories, server: Server
) -> None:
    """The spend and the successor commit together, under the spent token's row lock: the
    request that loses the race finds the token spent and revokes the whole family, including
    the successor the winner was just given."""
    for _ in range(5):  # the race has two orders; both must end the same
        pair = login(api, make.user())
        body = {"refresh_token": pair["refresh_token"]}
        responses = api.gather(
            *[lambda http, body=body: http.post(REFRESH, json=body) for _ in range(2)]
        )
        assert sorted(r.status_code for r in responses) == [200, 401]
        (winner,) = [r.json() for r in responses if r.status_code == 200]

        again = api.post(REFRESH, json={"refresh_token": winner["refresh_token"]})
        assert_problem(again, 401, "TOKEN_REVOKED")
        assert_problem(api.get(ME, token=winner["access_token"]), 401, "TOKEN_REVOKED")
    survivors = server.run(RefreshToken.filter(revoked_at=None, used_at=None).count())
    assert survivors == 0
