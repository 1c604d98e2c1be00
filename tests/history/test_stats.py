"""GET /api/v1/history/stats: totals, minutes, streaks and per-category figures, from SQL.

Practice day: a UTC day on which the user started a session they completed. Minutes: completed
sessions' duration_seconds, summed, // 60. Current streak: ending today or yesterday (UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

from service.models import Content, PracticeSession
from tests.support.api import STATS
from tests.support.factories import Account, Factories
from tests.support.metrics import queries_issued
from tests.support.problems import assert_problem
from tests.support.servers import Api


def noon(days_ago: int) -> datetime:
    day = datetime.now(UTC).date() - timedelta(days=days_ago)
    return datetime.combine(day, time(12), UTC)


def practised(
    make: Factories,
    user: Account,
    item: Content,
    days_ago: int = 0,
    seconds: int = 600,
    status: str = "completed",
    at: datetime | None = None,
) -> PracticeSession:
    """A session of ``user`` on ``item`` that lasted ``seconds``, started at noon (UTC)
    ``days_ago`` days ago unless started ``at``."""
    started_at = at or noon(days_ago)
    return make.practice_session(
        user,
        item,
        status=status,
        started_at=started_at,
        ended_at=started_at + timedelta(seconds=seconds),
        duration_seconds=seconds,
    )


def stats(api: Api, user: Account) -> dict[str, Any]:
    response = api.get(STATS, token=user.token)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_a_user_without_sessions_has_all_zeros(api: Api, make: Factories) -> None:
    assert stats(api, make.user()) == {
        "total_sessions": 0,
        "completed_sessions": 0,
        "total_minutes": 0,
        "current_streak_days": 0,
        "longest_streak_days": 0,
        "by_category": [],
    }


def test_totals_count_every_session_and_minutes_only_completed_ones(
    api: Api, make: Factories
) -> None:
    user = make.user()
    item = make.content()
    practised(make, user, item, seconds=90)
    practised(make, user, item, seconds=100)
    practised(make, user, item, seconds=3_000, status="abandoned")
    make.practice_session(user, item)  # active: no duration yet

    figures = stats(api, user)

    assert figures["total_sessions"] == 4
    assert figures["completed_sessions"] == 2
    assert figures["total_minutes"] == 3  # 190 s, rounded down once over the total


def test_by_category_counts_sessions_and_completed_minutes_most_sessions_first(
    api: Api, make: Factories
) -> None:
    user = make.user()
    python, sql, go = (make.content(category=name) for name in ("python", "sql", "go"))
    practised(make, user, sql, seconds=600)
    practised(make, user, sql, seconds=300, status="abandoned")
    practised(make, user, python, seconds=120)
    practised(make, user, go, seconds=60)

    assert stats(api, user)["by_category"] == [
        {"category": "sql", "sessions": 2, "minutes": 10},
        {"category": "go", "sessions": 1, "minutes": 1},
        {"category": "python", "sessions": 1, "minutes": 2},
    ]


def test_consecutive_practice_days_ending_today_are_the_current_streak(
    api: Api, make: Factories
) -> None:
    user = make.user()
    item = make.content()
    for days_ago in (0, 1, 2):
        practised(make, user, item, days_ago)

    figures = stats(api, user)

    assert figures["current_streak_days"] == 3
    assert figures["longest_streak_days"] == 3


def test_a_streak_ending_yesterday_is_still_current(api: Api, make: Factories) -> None:
    user = make.user()
    item = make.content()
    for days_ago in (1, 2):
        practised(make, user, item, days_ago)

    assert stats(api, user)["current_streak_days"] == 2


def test_a_streak_ending_two_days_ago_is_over(api: Api, make: Factories) -> None:
    user = make.user()
    item = make.content()
    for days_ago in (2, 3, 4):
        practised(make, user, item, days_ago)

    figures = stats(api, user)

    assert figures["current_streak_days"] == 0
    assert figures["longest_streak_days"] == 3


def test_a_gap_day_splits_streaks_and_the_longest_is_remembered(api: Api, make: Factories) -> None:
    user = make.user()
    item = make.content()
    for days_ago in (0, 1, 3, 4, 5, 6, 9):
        practised(make, user, item, days_ago)

    figures = stats(api, user)

    assert figures["current_streak_days"] == 2
    assert figures["longest_streak_days"] == 4


def test_several_sessions_on_one_day_count_that_day_once(api: Api, make: Factories) -> None:
    user = make.user()
    item = make.content()
    for hour in (8, 12, 20):
        day = datetime.now(UTC).date()
        practised(make, user, item, at=datetime.combine(day, time(hour), UTC))

    figures = stats(api, user)

    assert figures["current_streak_days"] == figures["longest_streak_days"] == 1


def test_only_completed_sessions_make_a_practice_day(api: Api, make: Factories) -> None:
    user = make.user()
    item = make.content()
    practised(make, user, item, days_ago=0, status="abandoned")
    make.practice_session(user, item, started_at=noon(1))  # still active
    practised(make, user, item, days_ago=2)

    figures = stats(api, user)

    assert figures["current_streak_days"] == 0
    assert figures["longest_streak_days"] == 1


def test_practice_days_are_utc_calendar_days(api: Api, make: Factories) -> None:
    user = make.user()
    item = make.content()
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    utc_minus_2 = timezone(timedelta(hours=-2))
    # Both are yesterday evening at UTC-2, but 23:30 yesterday and 00:30 today in UTC.
    practised(make, user, item, at=datetime.combine(yesterday, time(21, 30), utc_minus_2))
    practised(make, user, item, at=datetime.combine(yesterday, time(22, 30), utc_minus_2))

    figures = stats(api, user)

    assert figures["longest_streak_days"] == 2
    assert figures["current_streak_days"] == 2


def test_stats_count_only_the_callers_sessions(api: Api, make: Factories) -> None:
    me, other = make.user(), make.user()
    item = make.content()
    practised(make, other, item, days_ago=0, seconds=6_000)
    practised(make, me, item, days_ago=5, seconds=60)

    figures = stats(api, me)

    assert figures["total_sessions"] == 1
    assert figures["total_minutes"] == 1
    assert figures["current_streak_days"] == 0


def test_stats_take_one_query_besides_authentication_whatever_the_history(
    api: Api, make: Factories
) -> None:
    user = make.user()
    for n in range(8):
        practised(make, user, make.content(category=f"cat-{n % 3}"), days_ago=n)

    count, response = queries_issued(STATS, lambda: api.get(STATS, token=user.token))

    assert response.status_code == 200
    assert response.json()["longest_streak_days"] == 8
    assert count == 2


def test_stats_need_a_bearer_token(api: Api) -> None:
    assert_problem(api.get(STATS), 401, "AUTH_REQUIRED")


def test_stats_refuse_an_invalid_token(api: Api) -> None:
    assert_problem(api.get(STATS, token="x.y.z"), 401, "TOKEN_INVALID")
