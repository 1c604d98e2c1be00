"""GET /api/v1/admin/content and /{id}: content of any status, for content:read holders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from service.models import Content
from tests.support.api import ADMIN_CONTENT, slugs
from tests.support.factories import Account, Factories
from tests.support.metrics import queries_issued
from tests.support.problems import assert_invalid, assert_problem
from tests.support.servers import Api

# One to load the caller's roles and permissions, one for the page with every item's tags.
# The page with its tags; the caller's permissions come from the cache once it is warm.
ADMIN_CONTENT_LIST_QUERIES = 1

T0 = datetime.now(UTC) - timedelta(days=30)


def created(make: Factories, slug: str, minutes: int, **fields: Any) -> Content:
    """An item created ``minutes`` after a fixed past moment."""
    return make.content(slug=slug, created_at=T0 + timedelta(minutes=minutes), **fields)


def test_lists_every_status_newest_created_first(
    api: Api, make: Factories, editor: Account
) -> None:
    created(make, "old-draft", 1, published=False)
    created(make, "published", 2)
    created(make, "new-draft", 3, published=False)

    assert slugs(api.get(ADMIN_CONTENT, token=editor.token)) == [
        "new-draft",
        "published",
        "old-draft",
    ]


def test_list_items_carry_status_and_tags_but_not_the_body(
    api: Api, make: Factories, editor: Account
) -> None:
    make.content(published=False, tags=["sql", "basics"])
    (item,) = api.get(ADMIN_CONTENT, token=editor.token).json()["items"]

    assert item["status"] == "draft"
    assert item["tags"] == ["basics", "sql"]
    assert "body" not in item


@pytest.mark.parametrize(("status", "expected"), [("draft", ["d"]), ("published", ["p"])])
def test_filters_by_status(
    api: Api, make: Factories, editor: Account, status: str, expected: list[str]
) -> None:
    make.content(slug="d", published=False)
    make.content(slug="p")
    assert slugs(api.get(ADMIN_CONTENT, token=editor.token, params={"status": status})) == expected


def test_q_finds_a_substring_of_title_or_slug_ignoring_case(
    api: Api, make: Factories, editor: Account
) -> None:
    created(make, "window-functions", 1, title="Ranking rows")
    created(make, "joins", 2, title="Outer WINDOW tricks")
    created(make, "sorting", 3, title="Quicksort")

    found = slugs(api.get(ADMIN_CONTENT, token=editor.token, params={"q": "window"}))
    assert found == ["joins", "window-functions"]


def test_q_takes_like_wildcards_literally(api: Api, make: Factories, editor: Account) -> None:
    make.content(slug="pct", title="100% done")
    make.content(slug="other", title="100 done")
    assert slugs(api.get(ADMIN_CONTENT, token=editor.token, params={"q": "100%"})) == ["pct"]
    assert slugs(api.get(ADMIN_CONTENT, token=editor.token, params={"q": "_"})) == []


def test_walking_all_pages_serves_every_item_once(
    api: Api, make: Factories, editor: Account
) -> None:
    for n in range(11):
        created(make, f"item-{n:02d}", n, published=n % 2 == 0)
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = api.get(ADMIN_CONTENT, token=editor.token, params=params)
        seen += slugs(response)
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break

    assert seen == [f"item-{n:02d}" for n in reversed(range(11))]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "archived"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_a_bad_parameter_is_rejected(
    api: Api, editor: Account, params: dict[str, str], field: str
) -> None:
    assert_invalid(api.get(ADMIN_CONTENT, token=editor.token, params=params), field)


def test_the_query_count_does_not_grow_with_the_page_size(
    api: Api, make: Factories, editor: Account
) -> None:
    for n in range(110):
        make.content(published=n % 2 == 0, tags=[f"t{n % 5}", "all"])

    api.get(ADMIN_CONTENT, token=editor.token)  # warms the caller's cached permissions
    counts = {}
    for limit in (1, 20, 100):
        counts[limit], response = queries_issued(
            ADMIN_CONTENT,
            partial(api.get, ADMIN_CONTENT, token=editor.token, params={"limit": limit}),
        )
        assert len(response.json()["items"]) == limit

    expected = ADMIN_CONTENT_LIST_QUERIES
    assert counts == {1: expected, 20: expected, 100: expected}


def test_reads_one_item_of_any_status_with_its_body(
    api: Api, make: Factories, editor: Account
) -> None:
    item = make.content(published=False, body="draft body", tags=["sql"])

    response = api.get(f"{ADMIN_CONTENT}/{item.id}", token=editor.token)

    assert response.status_code == 200
    assert response.json()["body"] == "draft body"
    assert response.json()["status"] == "draft"
    assert response.json()["tags"] == ["sql"]


@pytest.mark.parametrize("content_id", ["5f0c6a4e-2b7d-4f0e-9f3f-2d1c0b9a8e7d", "not-a-uuid"])
def test_an_unknown_or_malformed_id_is_not_found(
    api: Api, editor: Account, content_id: str
) -> None:
    assert_problem(api.get(f"{ADMIN_CONTENT}/{content_id}", token=editor.token), 404, "NOT_FOUND")
