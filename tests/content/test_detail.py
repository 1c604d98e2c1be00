"""GET /api/v1/content/{slug}: one published item with its body."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.support.api import CONTENT
from tests.support.factories import Factories
from tests.support.metrics import queries_issued
from tests.support.problems import assert_problem
from tests.support.servers import Api

CONTENT_DETAIL_QUERIES = 1


def test_answers_a_published_item_with_its_body_and_tags(api: Api, make: Factories) -> None:
    item = make.content(slug="joins", body="# Joins", tags=["sql", "basics"])

    response = api.get(f"{CONTENT}/joins")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(item.id)
    assert body["body"] == "# Joins"
    assert body["tags"] == ["basics", "sql"]
    assert datetime.fromisoformat(body["published_at"]) == item.published_at
    assert "status" not in body


def test_an_unknown_slug_is_not_found(api: Api, make: Factories) -> None:
    make.content(slug="joins")
    assert_problem(api.get(f"{CONTENT}/no-such-item"), 404, "NOT_FOUND")


def test_a_draft_is_not_found(api: Api, make: Factories) -> None:
    make.content(slug="secret", published=False)
    assert_problem(api.get(f"{CONTENT}/secret"), 404, "NOT_FOUND")


@pytest.mark.parametrize("slug", ["Not%20A%20Slug", "UPPER", "a--b", "x" * 161])
def test_a_slug_no_item_can_have_is_not_found_without_asking_the_database(
    api: Api, slug: str
) -> None:
    count, response = queries_issued(
        "/api/v1/content/<slug:str>", lambda: api.get(f"{CONTENT}/{slug}")
    )
    assert_problem(response, 404, "NOT_FOUND")
    assert count == 0


def test_reading_an_item_is_one_query(api: Api, make: Factories) -> None:
    make.content(slug="joins", tags=["a", "b", "c"])
    count, response = queries_issued(
        "/api/v1/content/<slug:str>", lambda: api.get(f"{CONTENT}/joins")
    )
    assert response.status_code == 200
    assert count == CONTENT_DETAIL_QUERIES
