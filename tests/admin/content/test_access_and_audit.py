"""Who may call the admin content endpoints, and the audit record every write leaves."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.api import ADMIN_CONTENT, new_content
from tests.support.factories import Factories
from tests.support.problems import assert_problem
from tests.support.rows import audit_records
from tests.support.servers import Api, Server

ITEM = "5f0c6a4e-2b7d-4f0e-9f3f-2d1c0b9a8e7d"

# (method, path, permission, json body)
ENDPOINTS = [
    ("GET", ADMIN_CONTENT, "content:read", None),
    ("POST", ADMIN_CONTENT, "content:write", new_content()),
    ("GET", f"{ADMIN_CONTENT}/{ITEM}", "content:read", None),
    ("PATCH", f"{ADMIN_CONTENT}/{ITEM}", "content:write", {"title": "x"}),
    ("DELETE", f"{ADMIN_CONTENT}/{ITEM}", "content:delete", None),
    ("POST", f"{ADMIN_CONTENT}/{ITEM}/publish", "content:publish", None),
    ("POST", f"{ADMIN_CONTENT}/{ITEM}/unpublish", "content:publish", None),
]
IDS = [f"{method} {path.replace(ITEM, '{id}')}" for method, path, _, _ in ENDPOINTS]
ALL_CONTENT_PERMISSIONS = {"content:read", "content:write", "content:delete", "content:publish"}


@pytest.mark.parametrize(("method", "path", "permission", "body"), ENDPOINTS, ids=IDS)
def test_without_a_token_authentication_is_required(
    api: Api, method: str, path: str, permission: str, body: dict[str, Any] | None
) -> None:
    assert_problem(api.request(method, path, json=body), 401, "AUTH_REQUIRED")


@pytest.mark.parametrize(("method", "path", "permission", "body"), ENDPOINTS, ids=IDS)
def test_a_member_is_denied(
    api: Api, make: Factories, method: str, path: str, permission: str, body: dict[str, Any] | None
) -> None:
    member = make.user()
    response = api.request(method, path, token=member.token, json=body)
    assert_problem(response, 403, "PERMISSION_DENIED")


@pytest.mark.parametrize(("method", "path", "permission", "body"), ENDPOINTS, ids=IDS)
def test_each_endpoint_needs_exactly_its_own_permission(
    api: Api, make: Factories, method: str, path: str, permission: str, body: dict[str, Any] | None
) -> None:
    others = make.user_with_permissions("almost", *(ALL_CONTENT_PERMISSIONS - {permission}))
    holder = make.user_with_permissions("holder", permission)

    denied = api.request(method, path, token=others.token, json=body)
    allowed = api.request(method, path, token=holder.token, json=body)

    assert_problem(denied, 403, "PERMISSION_DENIED")
    assert permission in denied.json()["detail"]
    assert allowed.status_code in {200, 201, 404}  # past the guard (the item does not exist)


def test_an_admin_may_do_everything(api: Api, make: Factories) -> None:
    admin = make.admin()
    created = api.post(ADMIN_CONTENT, token=admin.token, json=new_content())
    item = f"{ADMIN_CONTENT}/{created.json()['id']}"

    statuses = [
        created.status_code,
        api.patch(item, token=admin.token, json={"title": "New"}).status_code,
        api.post(f"{item}/publish", token=admin.token).status_code,
        api.post(f"{item}/unpublish", token=admin.token).status_code,
        api.delete(item, token=admin.token).status_code,
    ]
    assert statuses == [201, 200, 200, 200, 204]


def test_every_write_leaves_one_audit_record_with_actor_target_and_request_id(
    api: Api, make: Factories, server: Server
) -> None:
    editor = make.editor()
    request_ids = iter(f"req-{n}" for n in range(10))

    def call(method: str, path: str, json: dict[str, Any] | None = None) -> httpx.Response:
        response = api.request(
            method, path, token=editor.token, json=json, headers={"X-Request-ID": next(request_ids)}
        )
        assert response.status_code < 300, response.text
        return response

    item_id = call("POST", ADMIN_CONTENT, new_content()).json()["id"]
    item = f"{ADMIN_CONTENT}/{item_id}"
    call("PATCH", item, {"title": "Renamed", "tags": ["x"]})
    call("POST", f"{item}/publish")
    call("POST", f"{item}/unpublish")
    call("DELETE", item)

    records = audit_records(server)
    assert [r.action for r in records] == [
        "content.create",
        "content.update",
        "content.publish",
        "content.unpublish",
        "content.delete",
    ]
    assert {r.actor_id for r in records} == {editor.id}
    assert {(r.target_type, r.target_id) for r in records} == {("content", item_id)}
    assert [r.request_id for r in records] == [f"req-{n}" for n in range(5)]
    assert records[0].changes["slug"] == {"before": None, "after": "window-functions"}
    assert records[1].changes == {
        "tags": {"before": ["sql"], "after": ["x"]},
        "title": {"before": "Window functions", "after": "Renamed"},
    }
    assert records[2].changes["status"] == {"before": "draft", "after": "published"}
    assert records[4].changes["title"] == {"before": "Renamed", "after": None}


def test_reads_and_failed_writes_leave_no_audit_record(
    api: Api, make: Factories, server: Server
) -> None:
    editor = make.editor()
    api.post(ADMIN_CONTENT, token=editor.token, json=new_content(slug="taken"))
    before = len(audit_records(server))

    api.get(ADMIN_CONTENT, token=editor.token)
    api.post(ADMIN_CONTENT, token=editor.token, json=new_content(slug="taken"))  # 409
    api.post(ADMIN_CONTENT, token=editor.token, json=new_content(kind="video"))  # 422
    api.patch(f"{ADMIN_CONTENT}/{ITEM}", token=editor.token, json={"title": "x"})  # 404

    assert len(audit_records(server)) == before == 1
