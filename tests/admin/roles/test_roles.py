"""GET/POST /admin/roles and PUT /admin/roles/{name}: built-in roles are fixed, custom roles'
permissions come from the catalog and apply to their holders' next request."""

from __future__ import annotations

from typing import Any

import httpx

from service.kit import rbac
from service.models import AuditRecord
from tests.support.factories import Account, Factories
from tests.support.problems import assert_problem
from tests.support.servers import Api, Server

ROLES = "/api/v1/admin/roles"
USERS = "/api/v1/admin/users"
ME = "/api/v1/users/me"


def create(api: Api, admin: Account, **body: Any) -> httpx.Response:
    return api.post(ROLES, token=admin.token, json={"permissions": [], **body})


def test_the_list_holds_the_built_in_roles_with_their_permissions(
    api: Api, make: Factories
) -> None:
    body = api.get(ROLES, token=make.admin().token).json()
    assert set(body) == {"items"}
    by_name = {role["name"]: role for role in body["items"]}
    for name, (description, permissions) in rbac.BUILTIN_ROLES.items():
        assert by_name[name] == {
            "name": name,
            "description": description,
            "permissions": sorted(permissions),
            "builtin": True,
        }


def test_creating_a_role_answers_201_and_it_is_listed_and_audited(
    api: Api, make: Factories, server: Server
) -> None:
    admin = make.admin()
    response = create(
        api, admin, name="moderator", description="Reads", permissions=["users:read"] * 2
    )
    assert response.status_code == 201
    assert response.headers["location"].endswith("/admin/roles/moderator")
    assert response.json() == {
        "name": "moderator",
        "description": "Reads",
        "permissions": ["users:read"],
        "builtin": False,
    }
    assert "moderator" in [r["name"] for r in api.get(ROLES, token=admin.token).json()["items"]]
    (record,) = server.run(AuditRecord.filter(action="role.create"))
    assert record.changes["permissions"] == {"before": None, "after": ["users:read"]}


def test_a_taken_name_is_role_exists(api: Api, make: Factories) -> None:
    admin = make.admin()
    assert create(api, admin, name="moderator").status_code == 201
    assert_problem(create(api, admin, name="moderator"), 409, "ROLE_EXISTS")
    assert_problem(create(api, admin, name="admin"), 409, "ROLE_EXISTS")


def test_an_unknown_permission_or_a_bad_name_is_422(api: Api, make: Factories) -> None:
    admin = make.admin()
    for body in (
        {"name": "x", "permissions": ["content:*"]},
        {"name": "Bad Name"},
        {"name": "newline\n"},  # it could never be named in PUT /roles/<name>
        {"name": "x", "builtin": True},
        {"name": "x", "description": "a\x00b"},
    ):
        assert_problem(create(api, admin, **body), 422, "VALIDATION_FAILED")
    response = api.put(f"{ROLES}/member", token=admin.token, json={"permissions": ["root"]})
    assert_problem(response, 422, "VALIDATION_FAILED")


def test_built_in_roles_cannot_be_changed(api: Api, make: Factories) -> None:
    admin = make.admin()
    for name in rbac.BUILTIN_ROLES:
        response = api.put(f"{ROLES}/{name}", token=admin.token, json={"permissions": []})
        assert_problem(response, 409, "ROLE_BUILTIN")
    assert "roles:manage" in api.get(ME, token=admin.token).json()["permissions"]


def test_an_unknown_role_is_404(api: Api, make: Factories) -> None:
    response = api.put(f"{ROLES}/nobody", token=make.admin().token, json={"permissions": []})
    assert_problem(response, 404, "NOT_FOUND")


def test_a_role_s_new_permissions_apply_to_its_holders_next_request(
    api: Api, make: Factories, server: Server
) -> None:
    admin, holder = make.admin(), make.user()
    create(api, admin, name="moderator", permissions=["users:read"])
    api.put(f"{USERS}/{holder.id}/roles", token=admin.token, json={"roles": ["moderator"]})
    assert api.get(USERS, token=holder.token).status_code == 200
    assert api.get(ME, token=holder.token).json()["permissions"] == ["users:read"]

    response = api.put(
        f"{ROLES}/moderator",
        token=admin.token,
        json={"permissions": ["audit:read"], "description": "Audits"},
    )

    assert response.status_code == 200
    assert response.json()["permissions"] == ["audit:read"]
    assert_problem(api.get(USERS, token=holder.token), 403, "PERMISSION_DENIED")
    assert api.get("/api/v1/admin/audit", token=holder.token).status_code == 200
    (record,) = server.run(AuditRecord.filter(action="role.update"))
    assert record.changes == {
        "permissions": {"before": ["users:read"], "after": ["audit:read"]},
        "description": {"before": "", "after": "Audits"},
    }
