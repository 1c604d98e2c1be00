"""GET /admin/users, PATCH /admin/users/{id}, PUT /admin/users/{id}/roles: bodies, filters,
pagination, the last-admin rule (under concurrency too) and the audit record of each write."""

from __future__ import annotations

import uuid
from typing import Any

from service.models import AuditRecord, RefreshToken, User
from tests.support.factories import Account, Factories
from tests.support.problems import assert_problem
from tests.support.servers import Api, Server

USERS = "/api/v1/admin/users"
ME = "/api/v1/users/me"


def login(api: Api, user: Account) -> dict[str, Any]:
    body = {"email": user.email, "password": user.password}
    pair: dict[str, Any] = api.post("/api/v1/auth/login", json=body).json()
    return pair


def audits(server: Server, action: str) -> list[AuditRecord]:
    return server.run(AuditRecord.filter(action=action).order_by("id"))


def test_the_list_shows_each_user_with_roles_newest_first(api: Api, make: Factories) -> None:
    admin = make.admin()
    editor = make.user("editor", display_name="Edith")
    body = api.get(USERS, token=admin.token).json()
    assert [item["id"] for item in body["items"]] == [str(editor.id), str(admin.id)]
    assert body["items"][0] == {
        "id": str(editor.id),
        "email": editor.email,
        "display_name": "Edith",
        "roles": ["editor", "member"],
        "is_active": True,
        "created_at": body["items"][0]["created_at"],
    }
    assert body["next_cursor"] is None


def test_q_matches_email_or_display_name_in_any_case_and_escapes_wildcards(
    api: Api, make: Factories
) -> None:
    admin = make.admin()
    make.user(email="grace@example.com", display_name="Grace")
    make.user(email="ada@example.com", display_name="Countess Lovelace")
    make.user(email="under_score@example.com")

    def emails(q: str) -> list[str]:
        page = api.get(USERS, token=admin.token, params={"q": q}).json()
        return sorted(item["email"] for item in page["items"])

    assert emails("GRACE") == ["grace@example.com"]
    assert emails("lovelace") == ["ada@example.com"]
    assert emails("_") == ["under_score@example.com"]
    assert emails("%") == []


def test_pages_walk_every_user_once(api: Api, make: Factories) -> None:
    admin = make.admin()
    created = {str(make.user().id) for _ in range(5)} | {str(admin.id)}
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get(USERS, token=admin.token, params=params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(created)


def test_bad_list_parameters_are_422(api: Api, make: Factories) -> None:
    admin = make.admin()
    for params in ({"limit": "0"}, {"limit": "101"}, {"cursor": "nope"}, {"q": "a\x00"}):
        assert_problem(api.get(USERS, token=admin.token, params=params), 422, "VALIDATION_FAILED")


def test_patch_changes_the_display_name_and_audits_before_and_after(
    api: Api, make: Factories, server: Server
) -> None:
    admin, user = make.admin(), make.user(display_name="Old")
    response = api.patch(
        f"{USERS}/{user.id}",
        token=admin.token,
        json={"display_name": "New"},
        headers={"X-Request-ID": "rename-1"},
    )
    assert response.status_code == 200
    assert response.json()["display_name"] == "New"
    (record,) = audits(server, "user.update")
    assert record.actor_id == admin.id
    assert (record.target_type, record.target_id) == ("user", str(user.id))
    assert record.changes == {"display_name": {"before": "Old", "after": "New"}}
    assert record.request_id == "rename-1"


def test_the_users_next_request_sees_the_changed_profile(api: Api, make: Factories) -> None:
    admin, user = make.admin(), make.user(display_name="Before")
    assert api.get(ME, token=user.token).json()["display_name"] == "Before"  # now cached

    api.patch(f"{USERS}/{user.id}", token=admin.token, json={"display_name": "After"})

    assert api.get(ME, token=user.token).json()["display_name"] == "After"


def test_an_unchanged_patch_leaves_no_audit_record(
    api: Api, make: Factories, server: Server
) -> None:
    admin, user = make.admin(), make.user(display_name="Same")
    for body in ({}, {"display_name": "Same"}, {"is_active": True}, {"is_active": None}):
        assert api.patch(f"{USERS}/{user.id}", token=admin.token, json=body).status_code == 200
    assert audits(server, "user.update") == []


def test_deactivating_ends_every_login_and_refuses_the_still_valid_token(
    api: Api, make: Factories, server: Server
) -> None:
    admin, user = make.admin(), make.user()
    pair = login(api, user)
    assert api.get(ME, token=pair["access_token"]).status_code == 200

    response = api.patch(f"{USERS}/{user.id}", token=admin.token, json={"is_active": False})

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert_problem(api.get(ME, token=pair["access_token"]), 403, "ACCOUNT_DISABLED")
    assert_problem(api.get(ME, token=user.token), 403, "ACCOUNT_DISABLED")
    refresh = api.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refresh.status_code == 401
    assert server.run(RefreshToken.filter(user_id=user.id, revoked_at=None).count()) == 0
    (record,) = audits(server, "user.update")
    assert record.changes == {"is_active": {"before": True, "after": False}}


def test_a_reactivated_user_must_log_in_again(api: Api, make: Factories) -> None:
    admin, user = make.admin(), make.user()
    old = login(api, user)
    api.patch(f"{USERS}/{user.id}", token=admin.token, json={"is_active": False})
    api.patch(f"{USERS}/{user.id}", token=admin.token, json={"is_active": True})

    assert_problem(api.get(ME, token=old["access_token"]), 401, "TOKEN_REVOKED")
    assert api.get(ME, token=login(api, user)["access_token"]).status_code == 200


def test_patch_refuses_roles_unknown_fields_and_wrong_types(api: Api, make: Factories) -> None:
    admin, user = make.admin(), make.user()
    for body in ({"roles": ["admin"]}, {"email": "x@example.com"}, {"is_active": "false"}):
        response = api.patch(f"{USERS}/{user.id}", token=admin.token, json=body)
        assert_problem(response, 422, "VALIDATION_FAILED")
    assert api.get(f"{USERS}", token=admin.token).json()["items"][0]["roles"] == ["member"]


def test_an_unknown_user_is_404(api: Api, make: Factories) -> None:
    admin = make.admin()
    missing = f"{USERS}/{uuid.uuid4()}"
    assert_problem(api.patch(missing, token=admin.token, json={}), 404, "NOT_FOUND")
    response = api.put(f"{missing}/roles", token=admin.token, json={"roles": []})
    assert_problem(response, 404, "NOT_FOUND")


def test_put_roles_replaces_them_applies_at_once_and_audits(
    api: Api, make: Factories, server: Server
) -> None:
    admin, user = make.admin(), make.user()
    assert api.get(ME, token=user.token).json()["permissions"] == []

    response = api.put(
        f"{USERS}/{user.id}/roles", token=admin.token, json={"roles": ["editor", "editor"]}
    )

    assert response.status_code == 200
    assert response.json()["roles"] == ["editor"]
    assert "content:publish" in api.get(ME, token=user.token).json()["permissions"]
    (record,) = audits(server, "user.roles.set")
    assert record.changes == {"roles": {"before": ["member"], "after": ["editor"]}}


def test_put_roles_refuses_an_unknown_role(api: Api, make: Factories) -> None:
    admin, user = make.admin(), make.user()
    response = api.put(
        f"{USERS}/{user.id}/roles", token=admin.token, json={"roles": ["editor", "wizard"]}
    )
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    assert body["errors"][0]["field"] == "roles"
    assert "wizard" in body["errors"][0]["message"]


def test_the_last_active_admin_keeps_admin(api: Api, make: Factories, server: Server) -> None:
    admin = make.admin()
    make.admin()  # deactivated below: an inactive admin does not count
    other = api.get(USERS, token=admin.token).json()["items"][0]["id"]
    api.patch(f"{USERS}/{other}", token=admin.token, json={"is_active": False})

    demote = api.put(f"{USERS}/{admin.id}/roles", token=admin.token, json={"roles": ["member"]})
    deactivate = api.patch(f"{USERS}/{admin.id}", token=admin.token, json={"is_active": False})

    assert_problem(demote, 409, "LAST_ADMIN")
    assert_problem(deactivate, 409, "LAST_ADMIN")
    assert "admin" in api.get(ME, token=admin.token).json()["roles"]
    assert audits(server, "user.roles.set") == []


def admin_count(server: Server) -> int:
    return server.run(User.filter(roles__name="admin", is_active=True).count())


def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    api: Api, make: Factories, server: Server
) -> None:
    first, second = make.admin(), make.admin()
    body = {"roles": ["member"]}
    responses = api.gather(
        lambda http: http.put(f"{USERS}/{second.id}/roles", json=body, headers=first.auth),
        lambda http: http.put(f"{USERS}/{first.id}/roles", json=body, headers=second.auth),
    )
    # The loser finds the winner's change: it would remove the last admin (409), or, when it
    # was authenticated after the commit, its caller is no admin any more (403).
    assert sorted(r.status_code for r in responses) in ([200, 403], [200, 409])
    assert admin_count(server) == 1


def test_deactivating_and_demoting_the_two_admins_at_once_leaves_one_active_admin(
    api: Api, make: Factories, server: Server
) -> None:
    first, second = make.admin(), make.admin()
    responses = api.gather(
        lambda http: http.patch(
            f"{USERS}/{second.id}", json={"is_active": False}, headers=first.auth
        ),
        lambda http: http.put(
            f"{USERS}/{first.id}/roles", json={"roles": ["member"]}, headers=second.auth
        ),
    )
    statuses = sorted(r.status_code for r in responses)
    # Either order: the second change finds itself removing the last active admin, or its
    # caller is no longer an admin (403) once the first one committed.
    assert statuses in ([200, 403], [200, 409])
    assert admin_count(server) == 1
