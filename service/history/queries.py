"""Every query of the caller's history and statistics: one statement each, whatever the size."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from service.content.queries import tag_names_sql
from service.infra.sql import Connection, Params, fetch_all, fetch_row
from service.kit.pagination import Keyset
from service.sessions.queries import SESSION_COLUMNS, SessionRow


@dataclass(frozen=True)
class HistoryFilter:
    user_id: uuid.UUID
    status: str | None
    since: datetime | None
    until: datetime | None
    after: Keyset | None  # the (started_at, id) of the last item seen


@dataclass(frozen=True)
class HistoryRow(SessionRow):
    content_tags: list[str]
    event_count: int


@dataclass(frozen=True)
class StatsRow:
    total_sessions: int
    completed_sessions: int
    total_minutes: int
    current_streak_days: int
    longest_streak_days: int
    by_category: str  # a JSON array, decoded where the answer is built


def _history_conditions(where: HistoryFilter, params: Params) -> list[str]:
    conditions = [f"s.user_id = {params.bind(where.user_id)}"]
    if where.status is not None:
        conditions.append(f"s.status = {params.bind(where.status)}")
    if where.since is not None:
        conditions.append(f"s.started_at >= {params.bind(where.since)}")
    if where.until is not None:
        conditions.append(f"s.started_at < {params.bind(where.until)}")
    if where.after is not None:
        started_at, session_id = params.bind(where.after.moment), params.bind(where.after.id)
        conditions.append(f"(s.started_at, s.id) < ({started_at}, {session_id})")
    return conditions


async def history_page(conn: Connection, where: HistoryFilter, limit: int) -> list[HistoryRow]:
    """Up to ``limit`` sessions, newest started first, each with its content, the content's tags
    and its event count, all from one statement (subqueries per row, no query per row)."""
    params = Params()
    conditions = _history_conditions(where, params)
    sql = f"""
        SELECT {SESSION_COLUMNS},
               {tag_names_sql("c")} AS content_tags,
               (SELECT count(*) FROM session_events e WHERE e.session_id = s.id) AS event_count
        FROM practice_sessions s JOIN content c ON c.id = s.content_id
        WHERE {" AND ".join(conditions)}
        ORDER BY s.started_at DESC, s.id DESC
        LIMIT {params.bind(limit)}
    """
    return await fetch_all(conn, HistoryRow, sql, params)


# Streaks by gaps and islands: consecutive days minus their rank are equal within a run.
_STATS_SQL = """
WITH mine AS (
    SELECT s.status, s.duration_seconds, s.started_at, c.category
    FROM practice_sessions s JOIN content c ON c.id = s.content_id
    WHERE s.user_id = $1
),
per_category AS (
    SELECT category,
           count(*) AS sessions,
           coalesce(sum(duration_seconds) FILTER (WHERE status = 'completed'), 0) / 60 AS minutes
    FROM mine
    GROUP BY category
),
practice_days AS (
    SELECT DISTINCT (started_at AT TIME ZONE 'UTC')::date AS day
    FROM mine
    WHERE status = 'completed'
),
islands AS (
    SELECT day, day - (row_number() OVER (ORDER BY day))::int AS island
    FROM practice_days
),
streaks AS (
    SELECT max(day) AS last_day, count(*) AS days
    FROM islands
    GROUP BY island
)
SELECT
    (SELECT count(*) FROM mine) AS total_sessions,
    (SELECT count(*) FROM mine WHERE status = 'completed') AS completed_sessions,
    (SELECT coalesce(sum(duration_seconds), 0) / 60 FROM mine WHERE status = 'completed')
        AS total_minutes,
    (SELECT coalesce(max(days), 0) FROM streaks
     WHERE last_day >= (now() AT TIME ZONE 'UTC')::date - 1) AS current_streak_days,
    (SELECT coalesce(max(days), 0) FROM streaks) AS longest_streak_days,
    (SELECT coalesce(
                json_agg(json_build_object('category', category, 'sessions', sessions,
                                           'minutes', minutes)
                         ORDER BY sessions DESC, category),
                '[]')
     FROM per_category) AS by_category
"""


async def stats(conn: Connection, user_id: uuid.UUID) -> StatsRow:
    return await fetch_row(conn, StatsRow, _STATS_SQL, Params(user_id))
