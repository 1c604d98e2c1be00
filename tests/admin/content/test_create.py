"""POST /api/v1/admin/content: a new draft, its slug, tags and validation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from service.models import Tag
from tests.support.api import ADMIN_CONTENT, CONTENT, new_content
from tests.support.factories import Account
from tests.support.problems import assert_invalid, assert_problem
from tests.support.rows import audit_records
from tests.support.servers import Api, Server


def create(api: Api, editor: Account, **overrides: Any) -> httpx.Response:
    return api.post(ADMIN_CONTENT, token=editor.token, json=new_content(**overrides))


def test_creates_a_draft_and_answers_201_with_its_location(api: Api, editor: Account) -> None:
    response = create(api, editor)

    assert response.status_code == 201, response.text
    item = response.json()
    assert item["status"] == "draft"
    assert item["published_at"] is None
    assert item["author_id"] == str(editor.id)
    assert item["body"].startswith("# Window functions")
    assert item["slug"] == "window-functions"
    assert response.headers["location"] == f"{ADMIN_CONTENT}/{item['id']}"
    assert api.get(response.headers["location"], token=editor.token).json() == item


def test_a_new_draft_is_not_public(api: Api, editor: Account) -> None:
    create(api, editor)
    assert api.get(CONTENT).json()["items"] == []


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Déjà vu: SQL!", "deja-vu-sql"),
        ("  Many   spaces  ", "many-spaces"),
        ("C++ & C#", "c-c"),
        ("日本語", "content"),
        ("x" * 200, "x" * 152),
    ],
)
def test_the_slug_is_derived_from_the_title(
    api: Api, editor: Account, title: str, slug: str
) -> None:
    assert create(api, editor, title=title).json()["slug"] == slug


def test_a_derived_slug_that_is_taken_gets_a_number(api: Api, editor: Account) -> None:
    slugs = [create(api, editor, title="Joins").json()["slug"] for _ in range(3)]
    assert slugs == ["joins", "joins-2", "joins-3"]


def test_concurrent_creates_with_one_title_all_get_distinct_slugs(
    api: Api, editor: Account
) -> None:
    responses = api.gather(
        *[
            lambda http: http.post(
                ADMIN_CONTENT, headers=editor.auth, json=new_content(title="Race")
            )
            for _ in range(5)
        ]
    )
    assert [r.status_code for r in responses] == [201] * 5
    assert sorted(r.json()["slug"] for r in responses) == [
        "race",
        "race-2",
        "race-3",
        "race-4",
        "race-5",
    ]


def test_an_explicit_slug_is_kept(api: Api, editor: Account) -> None:
    assert create(api, editor, slug="my-own-slug").json()["slug"] == "my-own-slug"


def test_an_explicit_slug_that_is_taken_is_a_conflict_and_creates_nothing(
    api: Api, editor: Account, server: Server
) -> None:
    create(api, editor, slug="taken")
    assert_problem(create(api, editor, slug="taken", title="Other"), 409, "SLUG_TAKEN")
    assert [r.action for r in audit_records(server)] == ["content.create"]


def test_tags_are_normalized_deduplicated_and_created_on_first_use(
    api: Api, editor: Account, server: Server
) -> None:
    server.run(Tag.create(name="sql"))
    response = create(api, editor, tags=[" SQL", "Deep  Dive", "sql", "deep dive"])

    assert response.json()["tags"] == ["deep dive", "sql"]
    assert [tag.name for tag in server.run(Tag.all().order_by("name"))] == ["deep dive", "sql"]


def test_tags_may_be_empty(api: Api, editor: Account) -> None:
    assert create(api, editor, tags=[]).json()["tags"] == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": ...}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"summary": ...}, "summary"),
        ({"summary": "s" * 1001}, "summary"),
        ({"body": "nul\x00byte"}, "body"),
        ({"kind": "video"}, "kind"),
        ({"difficulty": "expert"}, "difficulty"),
        ({"category": "Data Bases"}, "category"),
        ({"category": "-leading"}, "category"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": 1441}, "duration_minutes"),
        ({"duration_minutes": "10"}, "duration_minutes"),
        ({"duration_minutes": 10.5}, "duration_minutes"),
        ({"duration_minutes": True}, "duration_minutes"),
        ({"tags": "sql"}, "tags"),
        ({"tags": [f"t{n}" for n in range(21)]}, "tags"),
        ({"tags": ["x" * 65]}, "tags.0"),
        ({"tags": ["  "]}, "tags.0"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"slug": "trailing-"}, "slug"),
        # Python's ``$`` matches before a final newline; the patterns must not let one through.
        ({"slug": "newline\n"}, "slug"),
        ({"category": "newline\n"}, "category"),
        ({"owner": "me"}, "owner"),
    ],
)
def test_an_invalid_field_is_rejected_naming_the_field(
    api: Api, editor: Account, overrides: dict[str, Any], field: str
) -> None:
    assert_invalid(create(api, editor, **overrides), field)


def test_a_category_in_capitals_is_stored_lowercase(api: Api, editor: Account) -> None:
    assert create(api, editor, category="Databases").json()["category"] == "databases"
