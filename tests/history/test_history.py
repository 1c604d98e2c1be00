"""GET /api/v1/history: the caller's sessions, newest started first, keyset-paginated."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from urllib.parse import quote

import httpx
import pytest

from service.kit.pagination import encode_cursor
from service.models import SessionEvent
from tests.support.api import HISTORY
from tests.support.factories import Account, Factories
from tests.support.metrics import queries_issued
from tests.support.problems import assert_problem
from tests.support.servers import Api, Server

NOW = datetime.now(UTC).replace(microsecond=0)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def history(api: Api, user: Account, **params: str | int) -> httpx.Response:
    return api.get(HISTORY, token=user.token, params=params)


def ids(response: httpx.Response) -> list[str]:
    return [item["id"] for item in response.json()["items"]]


def test_history_lists_the_callers_sessions_newest_started_first(api: Api, make: Factories) -> None:
    user = make.user()
    item = make.content()
    old = make.practice_session(user, item, started_at=ago(days=2))
    new = make.practice_session(user, item, started_at=ago(hours=1))
    middle = make.practice_session(user, item, started_at=ago(days=1))

    response = history(api, user)

    assert response.status_code == 200
    assert ids(response) == [str(new.id), str(middle.id), str(old.id)]
    assert response.json()["next_cursor"] is None


def test_each_item_carries_its_content_with_tags_and_its_event_count(
    api: Api, make: Factories, server: Server
) -> None:
    user = make.user()
    item = make.content(title="Joins", kind="drill", category="sql", tags=["sql", "joins"])
    session = make.practice_session(
        user, item, status="completed", ended_at=NOW, duration_seconds=300, score=80
    )
    for kind in ("opened", "hint", "submitted"):
        server.run(SessionEvent.create(session_id=session.id, kind=kind, data={}))

    [entry] = history(api, user).json()["items"]

    assert entry["content"] == {
        "slug": item.slug,
        "title": "Joins",
        "kind": "drill",
        "category": "sql",
        "difficulty": "beginner",
        "duration_minutes": 10,
        "tags": ["joins", "sql"],
    }
    assert entry["event_count"] == 3
    assert entry["status"] == "completed"
    assert entry["duration_seconds"] == 300
    assert entry["score"] == 80


def test_content_without_tags_has_an_empty_tag_list_and_no_events_count_zero(
    api: Api, make: Factories
) -> None:
    user = make.user()
    make.practice_session(user, make.content(tags=[]))

    [entry] = history(api, user).json()["items"]

    assert entry["content"]["tags"] == []
    assert entry["event_count"] == 0


def test_other_users_sessions_are_never_listed(api: Api, make: Factories) -> None:
    me, other = make.user(), make.user()
    item = make.content()
    mine = make.practice_session(me, item)
    make.practice_session(other, item)

    assert ids(history(api, me)) == [str(mine.id)]


def test_an_empty_history_is_an_empty_page(api: Api, make: Factories) -> None:
    response = history(api, make.user())

    assert response.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("status", ["active", "completed", "abandoned"])
def test_status_filters_the_sessions(api: Api, make: Factories, status: str) -> None:
    user = make.user()
    item = make.content()
    wanted = {
        name: make.practice_session(user, item, status=name)
        for name in ("active", "completed", "abandoned")
    }

    assert ids(history(api, user, status=status)) == [str(wanted[status].id)]


def test_since_is_inclusive_and_until_exclusive_on_started_at(api: Api, make: Factories) -> None:
    user = make.user()
    item = make.content()
    at = {n: make.practice_session(user, item, started_at=ago(days=n)) for n in range(5)}

    response = history(api, user, since=ago(days=3).isoformat(), until=ago(days=1).isoformat())

    assert ids(response) == [str(at[2].id), str(at[3].id)]


def test_since_and_until_accept_z_and_numeric_offsets(api: Api, make: Factories) -> None:
    user = make.user()
    session = make.practice_session(
        user, make.content(), started_at=datetime(2026, 3, 1, 12, tzinfo=UTC)
    )

    # 13:00+01:00 is 12:00Z: inclusive. A '+' in a query string must be sent as %2B.
    path = f"{HISTORY}?since={quote('2026-03-01T13:00:00+01:00')}&until=2026-03-01T12:00:01Z"
    response = api.get(path, token=user.token)

    assert ids(response) == [str(session.id)]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("since", "2026-03-01T12:00:00"),  # no offset: ambiguous
        ("since", "2026-03-01"),
        ("until", "1700000000"),
        ("until", "yesterday"),
        ("since", "2026-13-01T00:00:00Z"),
        ("since", "0001-01-01T00:00:00+01:00"),  # before year 1 in UTC
        ("status", "finished"),
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "ten"),
    ],
)
def test_bad_filter_values_are_422_naming_the_parameter(
    api: Api, make: Factories, name: str, value: str
) -> None:
    response = api.get(f"{HISTORY}?{name}={quote(value)}", token=make.user().token)

    assert_problem(response, 422, "VALIDATION_FAILED")
    assert response.json()["errors"][0]["field"] == name


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        encode_cursor(["not a time", "x"]),
        encode_cursor([1]),
        encode_cursor([NOW.isoformat(), "nope"]),
        encode_cursor(["2026-01-01T00:00:00", str(uuid.uuid4())]),  # no offset
        encode_cursor(["0001-01-01T00:00:00+01:00", str(uuid.uuid4())]),  # before year 1 in UTC
    ],
)
def test_a_cursor_this_api_did_not_issue_is_422(api: Api, make: Factories, cursor: str) -> None:
    response = api.get(HISTORY, token=make.user().token, params={"cursor": cursor})

    assert_problem(response, 422, "VALIDATION_FAILED")
    assert response.json()["errors"][0]["field"] == "cursor"


def test_exactly_limit_items_leave_no_next_cursor(api: Api, make: Factories) -> None:
    user = make.user()
    item = make.content()
    for n in range(3):
        make.practice_session(user, item, started_at=ago(hours=n))

    response = history(api, user, limit=3)

    assert len(response.json()["items"]) == 3
    assert response.json()["next_cursor"] is None


def test_one_more_than_limit_gives_a_next_cursor_to_the_rest(api: Api, make: Factories) -> None:
    user = make.user()
    item = make.content()
    sessions = [make.practice_session(user, item, started_at=ago(hours=n)) for n in range(4)]

    first = history(api, user, limit=3).json()
    rest = history(api, user, limit=3, cursor=first["next_cursor"]).json()

    assert first["next_cursor"] is not None
    assert [i["id"] for i in rest["items"]] == [str(sessions[3].id)]
    assert rest["next_cursor"] is None


def test_walking_every_page_yields_each_session_once_in_order_even_with_equal_start_times(
    api: Api, make: Factories
) -> None:
    user = make.user()
    item = make.content()
    same_moment = ago(hours=5)
    sessions = [make.practice_session(user, item, started_at=same_moment) for _ in range(4)]
    sessions += [make.practice_session(user, item, started_at=ago(hours=n)) for n in range(3)]
    expected = sorted(sessions, key=lambda s: (s.started_at, str(s.id)), reverse=True)

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = history(api, user, **params).json()
        seen += [entry["id"] for entry in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [str(s.id) for s in expected]


def test_pages_keep_the_filters_they_were_asked_with(api: Api, make: Factories) -> None:
    user = make.user()
    item = make.content()
    completed = [
        make.practice_session(user, item, status="completed", started_at=ago(hours=n))
        for n in range(3)
    ]
    make.practice_session(user, item, status="abandoned", started_at=ago(minutes=90))

    first = history(api, user, status="completed", limit=2).json()
    second = history(api, user, status="completed", limit=2, cursor=first["next_cursor"]).json()

    listed = [e["id"] for e in first["items"] + second["items"]]
    assert listed == [str(s.id) for s in completed]


def test_history_needs_a_bearer_token(api: Api) -> None:
    assert_problem(api.get(HISTORY), 401, "AUTH_REQUIRED")


def test_history_refuses_an_invalid_token(api: Api) -> None:
    assert_problem(api.get(HISTORY, token="x.y.z"), 401, "TOKEN_INVALID")


def test_the_number_of_queries_does_not_grow_with_the_page_size(
    api: Api, make: Factories, server: Server
) -> None:
    user = make.user()
    for n in range(6):
        item = make.content(tags=[f"tag-{n}", "shared"])
        session = make.practice_session(user, item, started_at=ago(hours=n))
        for kind in ("a", "b"):
            server.run(SessionEvent.create(session_id=session.id, kind=kind, data={}))

    history(api, user)  # caches the caller's permissions, as any earlier request would
    counts = {}
    for limit in (1, 20, 100):
        counts[limit], response = queries_issued(HISTORY, partial(history, api, user, limit=limit))
        assert response.status_code == 200
        assert len(response.json()["items"]) == min(limit, 6)

    # The page with its content, tags and event counts; the caller's permissions are cached.
    assert counts == {1: 1, 20: 1, 100: 1}
