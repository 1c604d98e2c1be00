"""Raw SQL helpers for the queries modules: hand-written statements where the ORM would issue
more round trips (aggregates, keyset pages, subqueries), with numbered parameters only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from service.infra import db


async def fetch_all(
    sql: str, params: list[Any] | None = None, conn: BaseDBAsyncClient | None = None
) -> list[dict[str, Any]]:
    """Rows of a statement as dicts, through ``conn`` (a transaction) or the default pool."""
    rows: list[dict[str, Any]] = await (conn or db.connection()).execute_query_dict(sql, params)
    return rows


async def fetch_one(
    sql: str, params: list[Any] | None = None, conn: BaseDBAsyncClient | None = None
) -> dict[str, Any] | None:
    rows = await fetch_all(sql, params, conn)
    return rows[0] if rows else None


@dataclass
class SqlBuilder:
    """Collects WHERE fragments and their parameters, numbering ``$n`` placeholders."""

    conditions: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def param(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}"

    def where(self, condition: str) -> None:
        self.conditions.append(condition)

    def where_sql(self) -> str:
        return " AND ".join(self.conditions) if self.conditions else "TRUE"
