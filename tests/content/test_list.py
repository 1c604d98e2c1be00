"""GET /api/v1/content: published items, newest first, filtered, searched and paged by cursor."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from functools import partial

import orjson
import pytest

from tests.support.api import CONTENT, slugs
from tests.support.factories import Factories
from tests.support.metrics import queries_issued
from tests.support.problems import assert_invalid
from tests.support.servers import Api

ITEM_FIELDS = {
    "id",
    "slug",
    "title",
    "summary",
    "kind",
    "category",
    "difficulty",
    "duration_minutes",
    "tags",
    "published_at",
}
# One statement per page, whatever its size: the page and every item's tag names together.
CONTENT_LIST_QUERIES = 1

T0 = datetime.now(UTC) - timedelta(days=30)  # in the past: items published "now" are newer


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def walk(api: Api, params: dict[str, str | int]) -> list[str]:
    """Every slug of every page, following next_cursor to the end."""
    seen: list[str] = []
    cursor = None
    while True:
        response = api.get(CONTENT, params={**params, **({"cursor": cursor} if cursor else {})})
        seen += slugs(response)
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return seen


def raw_cursor(key: object) -> str:
    """A cursor encoded as the API encodes its own, around any JSON value."""
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def test_lists_only_published_items_newest_published_first(api: Api, make: Factories) -> None:
    make.content(slug="older", published_at=at(1))
    make.content(slug="newest", published_at=at(3))
    make.content(slug="middle", published_at=at(2))
    make.content(slug="a-draft", published=False)

    assert slugs(api.get(CONTENT)) == ["newest", "middle", "older"]


def test_items_have_the_public_fields_and_sorted_tag_names_but_no_body(
    api: Api, make: Factories
) -> None:
    item = make.content(
        slug="joins", kind="drill", difficulty="advanced", duration_minutes=25, tags=["sql", "b"]
    )

    (listed,) = api.get(CONTENT).json()["items"]

    assert set(listed) == ITEM_FIELDS
    assert listed["id"] == str(item.id)
    assert listed["kind"] == "drill"
    assert listed["difficulty"] == "advanced"
    assert listed["duration_minutes"] == 25
    assert listed["tags"] == ["b", "sql"]
    assert datetime.fromisoformat(listed["published_at"]) == item.published_at


def test_an_empty_catalogue_is_an_empty_page(api: Api) -> None:
    assert api.get(CONTENT).json() == {"items": [], "next_cursor": None}


def test_filters_by_category(api: Api, make: Factories) -> None:
    make.content(slug="py", category="python")
    make.content(slug="db", category="databases")

    assert slugs(api.get(CONTENT, params={"category": "databases"})) == ["db"]


def test_filters_by_tag_written_in_any_case_and_spacing(api: Api, make: Factories) -> None:
    make.content(slug="tagged", tags=["deep dive"])
    make.content(slug="other", tags=["basics"])

    assert slugs(api.get(CONTENT, params={"tag": "  Deep   DIVE "})) == ["tagged"]


def test_filters_by_kind(api: Api, make: Factories) -> None:
    make.content(slug="lesson", kind="lesson")
    make.content(slug="drill", kind="drill")
    make.content(slug="exercise", kind="exercise")

    assert slugs(api.get(CONTENT, params={"kind": "drill"})) == ["drill"]


def test_filters_combine(api: Api, make: Factories) -> None:
    make.content(slug="match", category="python", kind="drill", tags=["sql"])
    make.content(slug="wrong-kind", category="python", kind="lesson", tags=["sql"])
    make.content(slug="wrong-tag", category="python", kind="drill", tags=["async"])
    make.content(slug="wrong-category", category="databases", kind="drill", tags=["sql"])

    params = {"category": "python", "kind": "drill", "tag": "sql"}
    assert slugs(api.get(CONTENT, params=params)) == ["match"]


def test_empty_parameter_values_mean_no_filter(api: Api, make: Factories) -> None:
    make.content(slug="one")
    response = api.get(CONTENT + "?category=&tag=&kind=&q=&limit=&cursor=")
    assert slugs(response) == ["one"]
    assert slugs(api.get(CONTENT + "?kind=%20%09&limit=%0D%0A")) == ["one"]


@pytest.mark.parametrize("control", ["%1F", "%C2%85", "%C2%A0", "%E3%80%80"])
def test_a_control_or_unicode_space_character_is_a_value_not_a_blank(
    api: Api, control: str
) -> None:
    """Only ASCII whitespace is blank, as the document's pattern says in every regex dialect;
    Python's ``str.strip`` would also remove each of these."""
    assert_invalid(api.get(f"{CONTENT}?limit={control}"), "limit")
    assert_invalid(api.get(f"{CONTENT}?kind={control}"), "kind")


def test_search_matches_words_of_title_and_summary_with_stemming(api: Api, make: Factories) -> None:
    make.content(slug="by-title", title="Joining tables", summary="Practice")
    make.content(slug="by-summary", title="Practice", summary="Many joins, explained")
    make.content(slug="unrelated", title="Sorting", summary="Quicksort")

    assert sorted(slugs(api.get(CONTENT, params={"q": "join"}))) == ["by-summary", "by-title"]


def test_search_ranks_better_matches_first_then_newest(api: Api, make: Factories) -> None:
    make.content(slug="weak-new", title="Indexes", summary="a note on joins", published_at=at(9))
    make.content(slug="strong", title="Joins joins joins", summary="joins", published_at=at(1))
    make.content(slug="weak-old", title="Indexes", summary="a note on joins", published_at=at(2))

    assert slugs(api.get(CONTENT, params={"q": "joins"})) == ["strong", "weak-new", "weak-old"]


def test_search_understands_web_search_syntax(api: Api, make: Factories) -> None:
    make.content(slug="inner", title="Inner joins", summary="")
    make.content(slug="outer", title="Outer joins", summary="")

    assert slugs(api.get(CONTENT, params={"q": "joins -outer"})) == ["inner"]
    assert slugs(api.get(CONTENT, params={"q": '"outer joins"'})) == ["outer"]


def test_search_of_only_stop_words_finds_nothing(api: Api, make: Factories) -> None:
    make.content(title="The art of the join")
    assert slugs(api.get(CONTENT, params={"q": "the of"})) == []


def test_search_hides_drafts(api: Api, make: Factories) -> None:
    make.content(slug="draft", title="Joins", published=False)
    assert slugs(api.get(CONTENT, params={"q": "joins"})) == []


def test_walking_all_pages_serves_every_item_once_in_order(api: Api, make: Factories) -> None:
    for n in range(23):
        make.content(slug=f"item-{n:02d}", published_at=at(n))

    seen = walk(api, {"limit": 5})

    assert seen == [f"item-{n:02d}" for n in reversed(range(23))]


def test_items_published_at_the_same_instant_are_paged_by_id_without_loss(
    api: Api, make: Factories
) -> None:
    items = [make.content(published_at=at(0)) for _ in range(7)]

    seen = walk(api, {"limit": 2})

    expected = [i.slug for i in sorted(items, key=lambda i: i.id, reverse=True)]
    assert seen == expected


def test_walking_search_pages_serves_every_match_once_in_rank_order(
    api: Api, make: Factories
) -> None:
    # Three rank levels, several items per level (ties broken by published_at, then id).
    for n in range(12):
        strength = n % 3
        make.content(
            slug=f"match-{n:02d}",
            title="joins " * (strength + 1),
            summary="practice",
            published_at=at(n),
        )
    make.content(slug="no-match", title="sorting")

    one_page = slugs(api.get(CONTENT, params={"q": "joins", "limit": 100}))
    walked = walk(api, {"q": "joins", "limit": 4})

    assert len(one_page) == 12
    assert walked == one_page


def test_items_published_while_walking_pages_cause_no_duplicates_or_gaps(
    api: Api, make: Factories
) -> None:
    for n in range(9):
        make.content(slug=f"old-{n}", published_at=at(n))
    first = api.get(CONTENT, params={"limit": 4}).json()

    make.content(slug="fresh-1")  # published now: newer than everything listed
    second = api.get(CONTENT, params={"limit": 4, "cursor": first["next_cursor"]}).json()
    make.content(slug="fresh-2")
    third = api.get(CONTENT, params={"limit": 4, "cursor": second["next_cursor"]}).json()

    seen = [i["slug"] for page in (first, second, third) for i in page["items"]]
    assert seen == [f"old-{n}" for n in reversed(range(9))]
    assert third["next_cursor"] is None


def test_the_last_full_page_has_no_next_cursor(api: Api, make: Factories) -> None:
    for _ in range(3):
        make.content()
    assert api.get(CONTENT, params={"limit": 3}).json()["next_cursor"] is None
    assert api.get(CONTENT, params={"limit": 2}).json()["next_cursor"] is not None


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5"])
def test_a_limit_outside_1_to_100_is_rejected(api: Api, limit: str) -> None:
    assert_invalid(api.get(CONTENT, params={"limit": limit}), "limit")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor!",
        raw_cursor(["2026-01-01T00:00:00+00:00"]),  # wrong arity
        raw_cursor([1, 2]),  # wrong types
        raw_cursor(["yesterday", "5f0c6a4e-2b7d-4f0e-9f3f-2d1c0b9a8e7d"]),
        raw_cursor(["2026-01-01T00:00:00", "5f0c6a4e-2b7d-4f0e-9f3f-2d1c0b9a8e7d"]),  # no offset
        raw_cursor(["2026-01-01T00:00:00+00:00", "not-a-uuid"]),
        raw_cursor({"published_at": "2026-01-01"}),
    ],
)
def test_a_cursor_this_api_did_not_issue_is_rejected(api: Api, cursor: str) -> None:
    assert_invalid(api.get(CONTENT, params={"cursor": cursor}), "cursor")


@pytest.mark.parametrize(
    "rank",
    ["0.5", -1, 1e300, True, None],
)
def test_a_search_cursor_with_a_bad_rank_is_rejected(api: Api, rank: object) -> None:
    cursor = raw_cursor([rank, "2026-01-01T00:00:00+00:00", "5f0c6a4e-2b7d-4f0e-9f3f-2d1c0b9a8e7d"])
    assert_invalid(api.get(CONTENT, params={"q": "joins", "cursor": cursor}), "cursor")


def test_a_listing_cursor_is_rejected_by_a_search_and_the_reverse(
    api: Api, make: Factories
) -> None:
    for _ in range(3):
        make.content(title="joins")
    listing = api.get(CONTENT, params={"limit": 1}).json()["next_cursor"]
    search = api.get(CONTENT, params={"q": "joins", "limit": 1}).json()["next_cursor"]

    assert_invalid(api.get(CONTENT, params={"q": "joins", "cursor": listing}), "cursor")
    assert_invalid(api.get(CONTENT, params={"cursor": search}), "cursor")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "video"}, "kind"),
        ({"category": "Data Bases"}, "category"),
        ({"category": "a" * 65}, "category"),
        ({"tag": "t" * 65}, "tag"),
        ({"q": "x" * 201}, "q"),
        ({"q": "joins\x00"}, "q"),
    ],
)
def test_a_bad_filter_value_is_rejected(api: Api, params: dict[str, str], field: str) -> None:
    assert_invalid(api.get(CONTENT, params=params), field)


def test_the_query_count_does_not_grow_with_the_page_size(api: Api, make: Factories) -> None:
    for n in range(120):
        make.content(tags=[f"tag-{n % 7}", "common"])

    counts = {}
    for limit in (1, 20, 100):
        counts[limit], response = queries_issued(
            CONTENT, partial(api.get, CONTENT, params={"limit": limit})
        )
        assert len(response.json()["items"]) == limit
        assert all(item["tags"] for item in response.json()["items"])

    assert counts == {1: CONTENT_LIST_QUERIES, 20: CONTENT_LIST_QUERIES, 100: CONTENT_LIST_QUERIES}


def test_a_search_page_is_one_query_too(api: Api, make: Factories) -> None:
    for _ in range(30):
        make.content(title="joins", tags=["sql"])
    for limit in (1, 20):
        count, _ = queries_issued(
            CONTENT,
            partial(api.get, CONTENT, params={"q": "joins", "limit": limit}),
        )
        assert count == CONTENT_LIST_QUERIES
