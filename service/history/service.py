"""The caller's practice history (keyset-paginated) and statistics, both computed in SQL."""

from __future__ import annotations

import uuid
from datetime import datetime

import orjson

from service.history import queries
from service.history.schemas import HistoryItemOut, HistoryPage, HistoryQuery, StatsOut
from service.kit.pagination import cursor_id, cursor_time, decode_cursor, paginate


async def history(user_id: uuid.UUID, query: HistoryQuery) -> HistoryPage:
    where = queries.HistoryFilter(
        user_id=user_id,
        status=query.status.value if query.status else None,
        since=query.since,
        until=query.until,
        after=_keyset_of(query.cursor) if query.cursor else None,
    )
    rows = await queries.history_page(where, query.limit + 1)
    page, next_cursor = paginate(rows, query.limit, _cursor_key)
    return HistoryPage(
        items=[HistoryItemOut.from_row(row) for row in page], next_cursor=next_cursor
    )


def _cursor_key(row: dict[str, object]) -> tuple[str, str]:
    started_at = row["started_at"]
    assert isinstance(started_at, datetime)
    return started_at.isoformat(), str(row["id"])


def _keyset_of(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (started_at, id) a cursor carries; 422 for anything this API could not have issued."""
    started_at, session_id = decode_cursor(cursor, arity=2)
    return cursor_time(started_at), cursor_id(session_id)


async def stats(user_id: uuid.UUID) -> StatsOut:
    row = await queries.stats(user_id)
    return StatsOut.model_validate(row | {"by_category": orjson.loads(row["by_category"])})
