"""The caller's practice history (keyset-paginated) and statistics, both computed in SQL."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

import orjson

from service.history import queries
from service.history.queries import HistoryRow
from service.history.schemas import HistoryQuery, StatsOut, history_item
from service.infra import db
from service.kit.pagination import Keyset, paginate


async def history(user_id: uuid.UUID, query: HistoryQuery) -> dict[str, Any]:
    """A ``HistoryPage`` as plain data (``schemas.history_item``)."""
    where = queries.HistoryFilter(
        user_id=user_id,
        status=query.status.value if query.status else None,
        since=query.since,
        until=query.until,
        after=Keyset.from_cursor(query.cursor),
    )
    rows = await queries.history_page(db.connection(), where, query.limit + 1)
    page, next_cursor = paginate(rows, query.limit, _cursor_key)
    return {"items": [history_item(row) for row in page], "next_cursor": next_cursor}


def _cursor_key(row: HistoryRow) -> list[Any]:
    return Keyset(row.started_at, row.id).sort_key()


async def stats(user_id: uuid.UUID) -> StatsOut:
    row = await queries.stats(db.connection(), user_id)
    return StatsOut.model_validate(asdict(row) | {"by_category": orjson.loads(row.by_category)})
