"""GET /api/v1/tags: every tag carried by published content, with how many items carry it."""

from __future__ import annotations

from tests.support.api import TAGS
from tests.support.factories import Factories
from tests.support.metrics import queries_issued
from tests.support.servers import Api

TAGS_QUERIES = 1


def test_counts_published_items_per_tag_ordered_by_name(api: Api, make: Factories) -> None:
    make.content(tags=["sql", "basics"])
    make.content(tags=["sql"])
    make.content(tags=["async"])

    assert api.get(TAGS).json() == {
        "items": [
            {"name": "async", "content_count": 1},
            {"name": "basics", "content_count": 1},
            {"name": "sql", "content_count": 2},
        ]
    }


def test_drafts_are_not_counted_and_tags_only_on_drafts_are_left_out(
    api: Api, make: Factories
) -> None:
    make.content(tags=["sql"])
    make.content(published=False, tags=["sql", "secret"])

    assert api.get(TAGS).json()["items"] == [{"name": "sql", "content_count": 1}]


def test_without_published_content_the_list_is_empty(api: Api) -> None:
    assert api.get(TAGS).json() == {"items": []}


def test_counting_tags_is_one_query(api: Api, make: Factories) -> None:
    for n in range(30):
        make.content(tags=[f"tag-{n}"])
    count, response = queries_issued(TAGS, lambda: api.get(TAGS))
    assert len(response.json()["items"]) == 30
    assert count == TAGS_QUERIES
