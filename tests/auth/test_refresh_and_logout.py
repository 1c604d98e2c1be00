"""POST /api/v1/auth/refresh and /logout: rotation, reuse detection, revocation."""

from datetime import UTC, datetime, timedelta
from typing import Any

from service.models import RefreshToken, User
from tests.support.api import LOGIN, LOGOUT, ME, REFRESH
from tests.support.factories import Account, Factories
from tests.support.problems import assert_problem
from tests.support.servers import Api, Server


def login(api: Api, user: Account) -> dict[str, Any]:
    """The token pair a fresh login of ``user`` answers."""
    pair: dict[str, Any] = api.post(
        LOGIN, json={"email": user.email, "password": user.password}
    ).json()
    return pair


def test_refresh_answers_a_new_pair(api: Api, make: Factories) -> None:
    pair = login(api, make.user())
    response = api.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 200
    new = response.json()
    assert new["refresh_token"] != pair["refresh_token"]
    assert api.get(ME, token=new["access_token"]).status_code == 200


def test_the_old_refresh_token_is_spent(api: Api, make: Factories) -> None:
    pair = login(api, make.user())
    api.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    reuse = api.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert_problem(reuse, 401, "TOKEN_REVOKED")


def test_reusing_a_spent_token_revokes_the_whole_family(api: Api, make: Factories) -> None:
    pair = login(api, make.user())
    rotated = api.post(REFRESH, json={"refresh_token": pair["refresh_token"]}).json()
    api.post(REFRESH, json={"refresh_token": pair["refresh_token"]})  # the thief's replay
    response = api.post(REFRESH, json={"refresh_token": rotated["refresh_token"]})
    assert_problem(response, 401, "TOKEN_REVOKED")


def test_reuse_leaves_other_logins_alone(api: Api, make: Factories) -> None:
    user = make.user()
    stolen, other = login(api, user), login(api, user)
    api.post(REFRESH, json={"refresh_token": stolen["refresh_token"]})
    api.post(REFRESH, json={"refresh_token": stolen["refresh_token"]})
    assert api.post(REFRESH, json={"refresh_token": other["refresh_token"]}).status_code == 200


def test_an_unknown_refresh_token_is_invalid(api: Api) -> None:
    response = api.post(REFRESH, json={"refresh_token": "not-a-token"})
    assert_problem(response, 401, "TOKEN_INVALID")


def test_an_expired_refresh_token_is_refused(api: Api, make: Factories, server: Server) -> None:
    pair = login(api, make.user())
    server.run(RefreshToken.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    response = api.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert_problem(response, 401, "TOKEN_EXPIRED")


def test_concurrent_refreshes_of_one_token_let_exactly_one_through(
    api: Api, make: Factories
) -> None:
    pair = login(api, make.user())
    body = {"refresh_token": pair["refresh_token"]}
    responses = api.gather(*[lambda http: http.post(REFRESH, json=body) for _ in range(2)])
    assert sorted(r.status_code for r in responses) == [200, 401]


def test_logout_revokes_the_refresh_token(api: Api, make: Factories) -> None:
    pair = login(api, make.user())
    response = api.post(
        LOGOUT, token=pair["access_token"], json={"refresh_token": pair["refresh_token"]}
    )
    assert response.status_code == 204
    again = api.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert_problem(again, 401, "TOKEN_REVOKED")


def test_logout_needs_a_bearer_token(api: Api, make: Factories) -> None:
    pair = login(api, make.user())
    response = api.post(LOGOUT, json={"refresh_token": pair["refresh_token"]})
    assert_problem(response, 401, "AUTH_REQUIRED")


def test_logout_cannot_revoke_another_users_token(api: Api, make: Factories) -> None:
    victim = login(api, make.user())
    attacker = make.user()
    api.post(LOGOUT, token=attacker.token, json={"refresh_token": victim["refresh_token"]})
    assert api.post(REFRESH, json={"refresh_token": victim["refresh_token"]}).status_code == 200


def test_a_disabled_user_cannot_refresh(api: Api, make: Factories, server: Server) -> None:
    user = make.user()
    pair = login(api, user)
    server.run(User.filter(id=user.id).update(is_active=False))
    response = api.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 401
