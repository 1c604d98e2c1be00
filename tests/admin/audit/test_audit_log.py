"""GET /admin/audit: the records every admin write leaves, newest first, filtered and paged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from service.kit.pagination import Keyset, encode_cursor
from service.models import AuditRecord
from tests.support.factories import Factories
from tests.support.problems import assert_problem
from tests.support.servers import Api, Server

AUDIT = "/api/v1/admin/audit"
USERS = "/api/v1/admin/users"


def test_records_name_actor_action_target_changes_and_request_newest_first(
    api: Api, make: Factories
) -> None:
    admin, user = make.admin(), make.user(display_name="Old")
    api.patch(f"{USERS}/{user.id}", token=admin.token, json={"display_name": "New"})
    api.put(
        f"{USERS}/{user.id}/roles",
        token=admin.token,
        json={"roles": ["editor"]},
        headers={"X-Request-ID": "roles-1"},
    )

    items = api.get(AUDIT, token=admin.token).json()["items"]

    assert [item["action"] for item in items] == ["user.roles.set", "user.update"]
    newest = items[0]
    assert set(newest) == {
        "id",
        "actor",
        "action",
        "target_type",
        "target_id",
        "changes",
        "request_id",
        "created_at",
    }
    assert newest["actor"] == {"id": str(admin.id), "email": admin.email}
    assert (newest["target_type"], newest["target_id"]) == ("user", str(user.id))
    assert newest["changes"] == {"roles": {"before": ["member"], "after": ["editor"]}}
    assert newest["request_id"] == "roles-1"
    assert isinstance(newest["id"], str)


def test_filters_by_actor_action_target_type_and_time(
    api: Api, make: Factories, server: Server
) -> None:
    admin, other_admin, user = make.admin(), make.admin(), make.user()
    api.patch(f"{USERS}/{user.id}", token=admin.token, json={"display_name": "A"})
    api.patch(f"{USERS}/{user.id}", token=other_admin.token, json={"display_name": "B"})
    api.post("/api/v1/admin/roles", token=admin.token, json={"name": "r1", "permissions": []})
    long_ago = datetime.now(UTC) - timedelta(days=3)
    server.run(AuditRecord.filter(action="role.create").update(created_at=long_ago))

    def actions(**params: str) -> list[str]:
        page = api.get(AUDIT, token=admin.token, params=params).json()
        return [item["action"] for item in page["items"]]

    assert actions(actor=str(other_admin.id)) == ["user.update"]
    assert actions(action="role.create") == ["role.create"]
    assert actions(target_type="user") == ["user.update", "user.update"]
    assert actions(since=(long_ago + timedelta(days=1)).isoformat()) == ["user.update"] * 2
    assert actions(until=(long_ago + timedelta(days=1)).isoformat()) == ["role.create"]
    assert actions(action="") == ["user.update", "user.update", "role.create"]


def test_pages_walk_every_record_once(api: Api, make: Factories) -> None:
    admin, user = make.admin(), make.user()
    for n in range(5):
        api.patch(f"{USERS}/{user.id}", token=admin.token, json={"display_name": f"n{n}"})
    names: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get(AUDIT, token=admin.token, params=params).json()
        names += [item["changes"]["display_name"]["after"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert names == ["n4", "n3", "n2", "n1", "n0"]


def test_bad_filters_are_422(api: Api, make: Factories) -> None:
    admin = make.admin()
    content_cursor = Keyset(datetime.now(UTC), uuid.uuid4()).sort_key()
    for params in (
        {"actor": "not-a-uuid"},
        {"since": "yesterday"},
        {"until": "2026-11-01T00:00:00"},  # no offset
        {"action": "a\x00b"},
        {"limit": "500"},
        {"cursor": encode_cursor(content_cursor)},  # a content cursor (a UUID id), not an audit one
    ):
        response = api.get(AUDIT, token=admin.token, params=params)
        assert_problem(response, 422, "VALIDATION_FAILED")


def test_operator_records_have_no_actor_and_legacy_details_are_served_as_they_are(
    api: Api, make: Factories, server: Server
) -> None:
    admin = make.admin()
    server.run(
        AuditRecord.create(
            action="content.create", target_type="content", target_id="x", changes={"slug": "s"}
        )
    )
    (item,) = api.get(AUDIT, token=admin.token).json()["items"]
    assert item["actor"] is None
    assert item["changes"] == {"slug": "s"}


def test_no_record_holds_a_password_hash_or_token(
    api: Api, make: Factories, server: Server
) -> None:
    admin, user = make.admin(), make.user()
    api.patch(f"{USERS}/{user.id}", token=admin.token, json={"is_active": False})
    api.put(f"{USERS}/{user.id}/roles", token=admin.token, json={"roles": ["editor"]})
    text = str([r.changes for r in server.run(AuditRecord.all())])
    assert "argon2" not in text
    assert "token" not in text
