"""Every query of the caller's history and statistics: one statement each, whatever the size."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.infra.sql import fetch_all, fetch_one
from service.sessions.queries import SESSION_COLUMNS


@dataclass(frozen=True)
class HistoryFilter:
    user_id: uuid.UUID
    status: str | None
    since: datetime | None
    until: datetime | None
    after: tuple[datetime, uuid.UUID] | None  # keyset: the (started_at, id) of the last item seen


async def history_page(where: HistoryFilter, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` sessions, newest started first, each with its content, the content's tags
    and its event count, all from one statement (subqueries per row, no query per row)."""
    conditions = ["s.user_id = $1"]
    values: list[Any] = [where.user_id]

    def bind(value: Any) -> str:
        values.append(value)
        return f"${len(values)}"

    if where.status is not None:
        conditions.append(f"s.status = {bind(where.status)}")
    if where.since is not None:
        conditions.append(f"s.started_at >= {bind(where.since)}")
    if where.until is not None:
        conditions.append(f"s.started_at < {bind(where.until)}")
    if where.after is not None:
        started_at, session_id = where.after
        conditions.append(f"(s.started_at, s.id) < ({bind(started_at)}, {bind(session_id)})")
    sql = f"""
        SELECT {SESSION_COLUMNS},
               coalesce(
                   (SELECT array_agg(t.name ORDER BY t.name)
                    FROM content_tags ct JOIN tags t ON t.id = ct.tag_id
                    WHERE ct.content_id = c.id),
                   '{{}}'
               ) AS content_tags,
               (SELECT count(*) FROM session_events e WHERE e.session_id = s.id) AS event_count
        FROM practice_sessions s JOIN content c ON c.id = s.content_id
        WHERE {" AND ".join(conditions)}
        ORDER BY s.started_at DESC, s.id DESC
        LIMIT {bind(limit)}
    """
    return await fetch_all(sql, values)


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


async def stats(user_id: uuid.UUID) -> dict[str, Any]:
    row = await fetch_one(_STATS_SQL, [user_id])
    assert row is not None  # an aggregate without GROUP BY always answers one row
    return row
