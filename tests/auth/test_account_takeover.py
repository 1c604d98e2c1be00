"""Promoting an account never hands admin rights to whoever registered the address first:
create-admin takes the account over, ADMIN_EMAILS reaches only accounts older than the listing."""

from __future__ import annotations

from typing import Any

from service.config import Settings
from service.models import AuditRecord
from tests.support.factories import Factories
from tests.support.problems import assert_problem
from tests.support.processes import Praxis
from tests.support.rows import roles_of
from tests.support.servers import Api, Server

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/users/me"


def register(api: Api, email: str, password: str) -> dict[str, Any]:
    body = {"email": email, "password": password, "display_name": "Squatter"}
    assert api.post("/api/v1/auth/register", json=body).status_code == 201
    pair: dict[str, Any] = api.post(LOGIN, json={"email": email, "password": password}).json()
    return pair


def test_create_admin_on_a_registered_address_takes_the_account_over(
    praxis: Praxis,  # noqa: F811
    api: Api,
    server: Server,
    settings: Settings,
) -> None:
    squatter = register(api, "ops@example.com", "the squatter's password")
    assert api.get(ME, token=squatter["access_token"]).status_code == 200

    result = praxis(
        "create-admin",
        "ops@example.com",
        "--password",
        "the operator's password",
        REDIS_KEY_PREFIX=settings.redis_key_prefix,
    )

    assert result.returncode == 0, result.stderr
    assert "password is now the one given" in result.stdout
    assert "every login of it was ended" in result.stdout
    assert_problem(api.get(ME, token=squatter["access_token"]), 401, "TOKEN_REVOKED")
    refresh = api.post("/api/v1/auth/refresh", json={"refresh_token": squatter["refresh_token"]})
    assert refresh.status_code == 401
    old = api.post(LOGIN, json={"email": "ops@example.com", "password": "the squatter's password"})
    assert_problem(old, 401, "INVALID_CREDENTIALS")
    operator = api.post(
        LOGIN, json={"email": "ops@example.com", "password": "the operator's password"}
    ).json()
    assert "roles:manage" in api.get(ME, token=operator["access_token"]).json()["permissions"]
    (record,) = server.run(AuditRecord.filter(action="user.promote_admin"))
    assert record.actor_id is None
    assert record.changes["roles"] == {"before": ["member"], "after": ["admin", "member"]}
    assert "argon2" not in str(record.changes)


def test_admin_emails_never_grant_an_address_registered_after_it_was_listed(
    praxis: Praxis,  # noqa: F811
    api: Api,
    make: Factories,
    server: Server,
) -> None:
    early = make.user(email="early@example.com")
    listed = "early@example.com, late@example.com"
    assert praxis("migrate", ADMIN_EMAILS=listed).returncode == 0
    register(api, "late@example.com", "registered after the listing")

    assert praxis("migrate", ADMIN_EMAILS=listed).returncode == 0

    assert "admin" in roles_of(server, early.email)
    assert roles_of(server, "late@example.com") == ["member"]
