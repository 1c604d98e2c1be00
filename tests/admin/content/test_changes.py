"""PATCH, DELETE, publish and unpublish of /api/v1/admin/content/{id}."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from service.models import Content
from tests.support.api import ADMIN_CONTENT, CONTENT
from tests.support.factories import Account, Factories
from tests.support.problems import assert_invalid, assert_problem
from tests.support.rows import audit_records
from tests.support.servers import Api, Server

UNKNOWN_ID = "5f0c6a4e-2b7d-4f0e-9f3f-2d1c0b9a8e7d"


@pytest.fixture
def draft(make: Factories) -> Content:
    return make.content(slug="draft", title="Draft", published=False, tags=["sql", "basics"])


def patch(
    api: Api, editor: Account, item: Content, body: dict[str, Any], **kwargs: Any
) -> httpx.Response:
    return api.patch(f"{ADMIN_CONTENT}/{item.id}", token=editor.token, json=body, **kwargs)


def action(api: Api, editor: Account, item: Content, verb: str) -> httpx.Response:
    return api.post(f"{ADMIN_CONTENT}/{item.id}/{verb}", token=editor.token)


# PATCH


def test_an_update_changes_only_the_fields_sent(api: Api, editor: Account, draft: Content) -> None:
    before = api.get(f"{ADMIN_CONTENT}/{draft.id}", token=editor.token).json()

    response = patch(api, editor, draft, {"title": "New title", "duration_minutes": 45})

    assert response.status_code == 200, response.text
    after = response.json()
    assert (after["title"], after["duration_minutes"]) == ("New title", 45)
    unchanged = {k: v for k, v in after.items() if k not in {"title", "duration_minutes"}}
    updated_at = datetime.fromisoformat(unchanged.pop("updated_at"))
    assert updated_at > datetime.fromisoformat(before.pop("updated_at"))
    assert unchanged == {k: v for k, v in before.items() if k not in {"title", "duration_minutes"}}


def test_sent_tags_replace_the_items_tags(api: Api, editor: Account, draft: Content) -> None:
    assert patch(api, editor, draft, {"tags": ["Async", "sql"]}).json()["tags"] == ["async", "sql"]
    assert patch(api, editor, draft, {"tags": []}).json()["tags"] == []


def test_the_slug_can_change_but_not_to_one_that_is_taken(
    api: Api, make: Factories, editor: Account, draft: Content
) -> None:
    make.content(slug="taken")

    assert patch(api, editor, draft, {"slug": "renamed"}).json()["slug"] == "renamed"
    assert patch(api, editor, draft, {"slug": "renamed"}).status_code == 200  # its own slug
    assert_problem(patch(api, editor, draft, {"slug": "taken"}), 409, "SLUG_TAKEN")


def test_an_empty_update_changes_nothing_and_is_not_audited(
    api: Api, editor: Account, draft: Content, server: Server
) -> None:
    response = patch(api, editor, draft, {})
    assert response.status_code == 200
    assert response.json()["title"] == "Draft"
    assert audit_records(server) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": None}, "title"),
        ({"tags": None}, "tags"),
        ({"kind": "video"}, "kind"),
        ({"duration_minutes": -5}, "duration_minutes"),
        ({"status": "published"}, "status"),  # publishing has its own endpoint
        ({"slug": "Bad Slug"}, "slug"),
    ],
)
def test_an_invalid_update_is_rejected_and_changes_nothing(
    api: Api, editor: Account, draft: Content, body: dict[str, Any], field: str
) -> None:
    assert_invalid(patch(api, editor, draft, body), field)
    assert api.get(f"{ADMIN_CONTENT}/{draft.id}", token=editor.token).json()["title"] == "Draft"


def test_an_update_of_an_unknown_item_is_not_found(api: Api, editor: Account) -> None:
    response = api.patch(f"{ADMIN_CONTENT}/{UNKNOWN_ID}", token=editor.token, json={"title": "x"})
    assert_problem(response, 404, "NOT_FOUND")


# Publish and unpublish


def test_publishing_a_draft_makes_it_public_now(api: Api, editor: Account, draft: Content) -> None:
    response = action(api, editor, draft, "publish")

    assert response.status_code == 200
    assert response.json()["status"] == "published"
    assert datetime.fromisoformat(response.json()["published_at"]) > draft.created_at
    assert api.get(f"{CONTENT}/draft").status_code == 200


def test_publishing_a_published_item_keeps_its_published_at(
    api: Api, make: Factories, editor: Account
) -> None:
    item = make.content()
    response = action(api, editor, item, "publish")
    assert response.status_code == 200
    assert datetime.fromisoformat(response.json()["published_at"]) == item.published_at


def test_unpublishing_returns_the_item_to_draft_and_clears_published_at(
    api: Api, make: Factories, editor: Account
) -> None:
    item = make.content()
    response = action(api, editor, item, "unpublish")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["published_at"]) == ("draft", None)
    assert api.get(f"{CONTENT}/{item.slug}").status_code == 404


def test_unpublishing_a_draft_changes_nothing(
    api: Api, editor: Account, draft: Content, server: Server
) -> None:
    assert action(api, editor, draft, "unpublish").json()["status"] == "draft"
    assert audit_records(server) == []


def test_republishing_gives_a_new_published_at(api: Api, make: Factories, editor: Account) -> None:
    item = make.content()
    action(api, editor, item, "unpublish")
    republished = action(api, editor, item, "publish").json()
    assert item.published_at is not None
    assert datetime.fromisoformat(republished["published_at"]) > item.published_at


@pytest.mark.parametrize("verb", ["publish", "unpublish"])
@pytest.mark.parametrize("content_id", [UNKNOWN_ID, "nope"])
def test_publishing_an_unknown_item_is_not_found(
    api: Api, editor: Account, verb: str, content_id: str
) -> None:
    response = api.post(f"{ADMIN_CONTENT}/{content_id}/{verb}", token=editor.token)
    assert_problem(response, 404, "NOT_FOUND")


# DELETE


def test_deleting_answers_204_and_the_item_is_gone(
    api: Api, editor: Account, draft: Content, server: Server
) -> None:
    response = api.delete(f"{ADMIN_CONTENT}/{draft.id}", token=editor.token)

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(api.get(f"{ADMIN_CONTENT}/{draft.id}", token=editor.token), 404, "NOT_FOUND")
    assert server.run(Content.filter(id=draft.id).exists()) is False


def test_content_with_practice_sessions_cannot_be_deleted(
    api: Api, make: Factories, editor: Account, server: Server
) -> None:
    item = make.content()
    make.practice_session(make.user(), item)

    response = api.delete(f"{ADMIN_CONTENT}/{item.id}", token=editor.token)

    body = assert_problem(response, 409, "CONTENT_IN_USE")
    assert "unpublish" in body["detail"]
    assert server.run(Content.filter(id=item.id).exists()) is True
    assert audit_records(server) == []


def test_deleting_an_unknown_item_is_not_found(api: Api, editor: Account) -> None:
    assert_problem(
        api.delete(f"{ADMIN_CONTENT}/{UNKNOWN_ID}", token=editor.token), 404, "NOT_FOUND"
    )
