"""Real servers: two instances (``praxis serve``, two workers each) sharing PostgreSQL and Redis.
A role change, a deactivation and a logout made through one apply to the very next request
served by any worker of either, although both cache the callers' permissions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.config import Settings
from tests.support.factories import Factories
from tests.support.processes import base_url_of, praxis_serve, serve_env
from tests.test_multiworker import ServedProcess

WORKERS = 2
# New connections are spread over the workers by the kernel; this many reach each one in practice.
READS = 24
ME = "/api/v1/users/me"


def start(settings: Settings, directory: Path) -> Iterator[ServedProcess]:
    env = serve_env(
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        workers=WORKERS,
        data_dir=directory,
        key_prefix=settings.redis_key_prefix,
        JWT_SECRET=settings.jwt_secret,
    )
    with praxis_serve(env, directory / "server.log"):
        yield ServedProcess(base_url_of(env), directory / "metrics")


@pytest.fixture(scope="module")
def first(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    yield from start(settings, tmp_path_factory.mktemp("first"))


@pytest.fixture(scope="module")
def second(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    yield from start(settings, tmp_path_factory.mktemp("second"))


def answers(instance: ServedProcess, token: str, reads: int = READS) -> list[httpx.Response]:
    """``reads`` requests, each on a new connection: any worker may take each."""
    headers = {"Authorization": f"Bearer {token}"}
    responses: list[httpx.Response] = []
    for _ in range(reads):
        with httpx.Client(base_url=instance.base_url, timeout=10) as fresh:
            responses.append(fresh.get(ME, headers=headers))
    return responses


def roles_seen(instance: ServedProcess, token: str) -> set[tuple[str, ...]]:
    return {tuple(r.json()["roles"]) for r in answers(instance, token)}


def test_every_worker_of_both_instances_served_and_cached(
    first: ServedProcess, second: ServedProcess, make: Factories
) -> None:
    user = make.user()
    for instance in (first, second):
        assert roles_seen(instance, user.token) == {("member",)}
        assert len(instance.workers_that_decided()) == WORKERS


def test_a_role_change_through_one_instance_applies_at_once_on_the_other(
    first: ServedProcess, second: ServedProcess, make: Factories
) -> None:
    admin, user = make.admin(), make.user()
    assert roles_seen(first, user.token) == roles_seen(second, user.token) == {("member",)}

    response = httpx.put(
        f"{first.base_url}/api/v1/admin/users/{user.id}/roles",
        headers=admin.auth,
        json={"roles": ["editor"]},
    )

    assert response.status_code == 200
    assert roles_seen(second, user.token) == {("editor",)}
    assert roles_seen(first, user.token) == {("editor",)}


def test_a_deactivation_through_one_instance_applies_at_once_on_the_other(
    first: ServedProcess, second: ServedProcess, make: Factories
) -> None:
    admin, user = make.admin(), make.user()
    assert {r.status_code for r in answers(first, user.token)} == {200}

    response = httpx.patch(
        f"{second.base_url}/api/v1/admin/users/{user.id}",
        headers=admin.auth,
        json={"is_active": False},
    )

    assert response.status_code == 200
    for instance in (first, second):
        refused = answers(instance, user.token)
        assert {(r.status_code, r.json()["code"]) for r in refused} == {(403, "ACCOUNT_DISABLED")}


def test_a_logout_through_one_instance_ends_the_login_on_the_other(
    first: ServedProcess, second: ServedProcess, make: Factories
) -> None:
    user = make.user()
    credentials = {"email": user.email, "password": user.password}
    ended = httpx.post(f"{first.base_url}/api/v1/auth/login", json=credentials).json()
    kept = httpx.post(f"{second.base_url}/api/v1/auth/login", json=credentials).json()
    assert {r.status_code for r in answers(second, ended["access_token"])} == {200}

    response = httpx.post(
        f"{first.base_url}/api/v1/auth/logout",
        headers={"Authorization": f"Bearer {ended['access_token']}"},
        json={"refresh_token": ended["refresh_token"]},
    )

    assert response.status_code == 204
    refused = answers(second, ended["access_token"]) + answers(first, ended["access_token"])
    assert {(r.status_code, r.json()["code"]) for r in refused} == {(401, "TOKEN_REVOKED")}
    assert {r.status_code for r in answers(first, kept["access_token"], reads=6)} == {200}
