"""POST /api/v1/admin/content: a new draft, its slug, tags and validation."""

from __future__ import annotations

import pytest

from service.models import Tag
from tests.admin.content_helpers import audit_records, new_item
from tests.content.support import ADMIN_CONTENT, assert_invalid, assert_problem


@pytest.fixture
def editor(make):
    return make.editor()


def create(api, editor, **overrides):
    return api.post(ADMIN_CONTENT, token=editor.token, json=new_item(**overrides))


def test_creates_a_draft_and_answers_201_with_its_location(api, editor):
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


def test_a_new_draft_is_not_public(api, editor):
    create(api, editor)
    assert api.get("/api/v1/content").json()["items"] == []


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
def test_the_slug_is_derived_from_the_title(api, editor, title, slug):
    assert create(api, editor, title=title).json()["slug"] == slug


def test_a_derived_slug_that_is_taken_gets_a_number(api, editor):
    slugs = [create(api, editor, title="Joins").json()["slug"] for _ in range(3)]
    assert slugs == ["joins", "joins-2", "joins-3"]


def test_concurrent_creates_with_one_title_all_get_distinct_slugs(api, editor):
    responses = api.gather(
        *[
            lambda http: http.post(ADMIN_CONTENT, headers=editor.auth, json=new_item(title="Race"))
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


def test_an_explicit_slug_is_kept(api, editor):
    assert create(api, editor, slug="my-own-slug").json()["slug"] == "my-own-slug"


def test_an_explicit_slug_that_is_taken_is_a_conflict_and_creates_nothing(api, editor, server):
    create(api, editor, slug="taken")
    assert_problem(create(api, editor, slug="taken", title="Other"), 409, "SLUG_TAKEN")
    assert [r.action for r in audit_records(server)] == ["content.create"]


def test_tags_are_normalized_deduplicated_and_created_on_first_use(api, editor, server):
    server.run(Tag.create(name="sql"))
    response = create(api, editor, tags=[" SQL", "Deep  Dive", "sql", "deep dive"])

    assert response.json()["tags"] == ["deep dive", "sql"]
    names = server.run(Tag.all().order_by("name").values_list("name", flat=True))
    assert names == ["deep dive", "sql"]


def test_tags_may_be_empty(api, editor):
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
        ({"owner": "me"}, "owner"),
    ],
)
def test_an_invalid_field_is_rejected_naming_the_field(api, editor, overrides, field):
    assert_invalid(create(api, editor, **overrides), field)


def test_a_category_in_capitals_is_stored_lowercase(api, editor):
    assert create(api, editor, category="Databases").json()["category"] == "databases"


def test_a_body_that_is_not_json_is_malformed(api, editor):
    response = api.post(
        ADMIN_CONTENT,
        token=editor.token,
        content=b'{"title": ',
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 400, "MALFORMED_JSON")


def test_a_body_of_another_media_type_is_unsupported(api, editor):
    response = api.post(
        ADMIN_CONTENT,
        token=editor.token,
        content=b"title=x",
        headers={"Content-Type": "text/plain"},
    )
    assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_a_json_array_body_is_rejected(api, editor):
    assert_problem(api.post(ADMIN_CONTENT, token=editor.token, json=[1]), 422, "VALIDATION_FAILED")
