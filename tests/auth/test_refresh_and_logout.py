"""POST /api/v1/auth/refresh and /logout: rotation, reuse detection, revocation."""

from datetime import UTC, datetime, timedelta

from service.models import RefreshToken

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"


def login(api, user):
    return api.post(LOGIN, json={"email": user.email, "password": user.password}).json()


def test_refresh_answers_a_new_pair(api, make):
    pair = login(api, make.user())
    response = api.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 200
    new = response.json()
    assert new["refresh_token"] != pair["refresh_token"]
    assert api.get("/api/v1/users/me", token=new["access_token"]).status_code == 200


def test_the_old_refresh_token_is_spent(api, make):
    pair = login(api, make.user())
    api.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    reuse = api.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert reuse.status_code == 401
    assert reuse.json()["code"] == "TOKEN_REVOKED"


def test_reusing_a_spent_token_revokes_the_whole_family(api, make):
    pair = login(api, make.user())
    rotated = api.post(REFRESH, json={"refresh_token": pair["refresh_token"]}).json()
    api.post(REFRESH, json={"refresh_token": pair["refresh_token"]})  # the thief's replay
    response = api.post(REFRESH, json={"refresh_token": rotated["refresh_token"]})
    assert response.status_code == 401
    assert response.json()["code"] == "TOKEN_REVOKED"


def test_reuse_leaves_other_logins_alone(api, make):
    user = make.user()
    stolen, other = login(api, user), login(api, user)
    api.post(REFRESH, json={"refresh_token": stolen["refresh_token"]})
    api.post(REFRESH, json={"refresh_token": stolen["refresh_token"]})
    assert api.post(REFRESH, json={"refresh_token": other["refresh_token"]}).status_code == 200


def test_an_unknown_refresh_token_is_invalid(api):
    response = api.post(REFRESH, json={"refresh_token": "not-a-token"})
    assert response.status_code == 401
    assert response.json()["code"] == "TOKEN_INVALID"


def test_an_expired_refresh_token_is_refused(api, make, server):
    pair = login(api, make.user())
    server.run(RefreshToken.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    response = api.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 401
    assert response.json()["code"] == "TOKEN_EXPIRED"


def test_concurrent_refreshes_of_one_token_let_exactly_one_through(api, make):
    pair = login(api, make.user())
    body = {"refresh_token": pair["refresh_token"]}
    responses = api.gather(*[lambda http: http.post(REFRESH, json=body) for _ in range(2)])
    assert sorted(r.status_code for r in responses) == [200, 401]


def test_logout_revokes_the_refresh_token(api, make):
    pair = login(api, make.user())
    response = api.post(
        LOGOUT, token=pair["access_token"], json={"refresh_token": pair["refresh_token"]}
    )
    assert response.status_code == 204
    again = api.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert again.json()["code"] == "TOKEN_REVOKED"


def test_logout_needs_a_bearer_token(api, make):
    pair = login(api, make.user())
    response = api.post(LOGOUT, json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 401
    assert response.json()["code"] == "AUTH_REQUIRED"


def test_logout_cannot_revoke_another_users_token(api, make):
    victim = login(api, make.user())
    attacker = make.user()
    api.post(LOGOUT, token=attacker.token, json={"refresh_token": victim["refresh_token"]})
    assert api.post(REFRESH, json={"refresh_token": victim["refresh_token"]}).status_code == 200


def test_a_disabled_user_cannot_refresh(api, make, server):
    from service.models import User

    user = make.user()
    pair = login(api, user)
    server.run(User.filter(id=user.id).update(is_active=False))
    response = api.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 401
