"""The one way a statement reaches PostgreSQL: hand-written SQL from a ``queries.py``, its values
bound through ``Params``, run on the connection the caller names, answering typed rows.

The connection is always an argument: a transaction's (``in_transaction()``) for statements that
must commit together, else the pool's (``db.connection()``), said explicitly by the caller. There
is no default, so a statement meant for a transaction cannot quietly run beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient

# The pool (``db.connection()``) or an open transaction: Tortoise's client either way.
Connection = BaseDBAsyncClient
RowT = TypeVar("RowT")
ValueT = TypeVar("ValueT")


class Params:
    """The values of one statement, as numbered placeholders.

    ``Params(a, b)`` binds ``$1`` and ``$2`` for a statement written with them; ``bind(value)``
    appends a value and answers its placeholder, for statements assembled from the fragments
    that apply (``f"c.kind = {params.bind(kind)}"``). Values never enter the SQL text.
    """

    def __init__(self, *values: Any) -> None:
        self.values: list[Any] = list(values)

    def bind(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def all_of(conditions: Sequence[str]) -> str:
    """A WHERE clause's conditions joined with AND; TRUE when there are none."""
    return " AND ".join(conditions) if conditions else "TRUE"


async def fetch_all(
    conn: Connection, row: Callable[..., RowT], sql: str, params: Params | None = None
) -> list[RowT]:
    """Every row of ``sql``, each built by ``row`` (a frozen dataclass) from its columns: a
    column the row type does not declare, or one it lacks, fails loudly."""
    records = await conn.execute_query_dict(sql, params.values if params else None)
    return [row(**record) for record in records]


async def fetch_one(
    conn: Connection, row: Callable[..., RowT], sql: str, params: Params | None = None
) -> RowT | None:
    rows = await fetch_all(conn, row, sql, params)
    return rows[0] if rows else None


async def fetch_row(
    conn: Connection, row: Callable[..., RowT], sql: str, params: Params | None = None
) -> RowT:
    """The one row a statement always answers (an ``INSERT ... RETURNING``, an aggregate without
    GROUP BY); none is a bug in the statement, not a state of the data."""
    found = await fetch_one(conn, row, sql, params)
    if found is None:
        raise LookupError("the statement answered no row")
    return found


async def fetch_value(
    conn: Connection, kind: type[ValueT], sql: str, params: Params | None = None
) -> ValueT | None:
    """The single column of the first row (None when there is no row), checked to be a ``kind``."""
    records = await conn.execute_query_dict(sql, params.values if params else None)
    if not records:
        return None
    (value,) = records[0].values()
    if not isinstance(value, kind):
        raise TypeError(f"expected {kind.__name__}, the statement answered {value!r}")
    return value


async def execute(conn: Connection, sql: str, params: Params | None = None) -> int:
    """Run a statement that answers no rows; how many rows an UPDATE or DELETE changed (Tortoise
    reads an INSERT's count from the wrong field of the status: use RETURNING to know)."""
    changed, _ = await conn.execute_query(sql, params.values if params else None)
    return int(changed)


@dataclass(frozen=True)
class CopyTarget:
    """A table and the columns, in order, of the records a bulk load sends it."""

    table: str
    columns: tuple[str, ...]


async def copy_records(
    conn: Connection, target: CopyTarget, records: Iterable[Sequence[Any]]
) -> None:
    """Bulk-load ``records`` with COPY: the seed's path for millions of rows. asyncpg's COPY is
    below Tortoise's client, so it runs on that client's own asyncpg connection."""
    async with conn.acquire_connection() as raw:
        await raw.copy_records_to_table(
            target.table, records=list(records), columns=list(target.columns)
        )


async def analyze(conn: Connection) -> None:
    """Refresh the planner's statistics, after a bulk load changed the tables' sizes."""
    await execute(conn, "ANALYZE")


async def try_advisory_xact_lock(conn: Connection, key: int) -> bool:
    """Take the transaction-level advisory lock ``key`` if no other session holds it; it is
    released when ``conn``'s transaction ends (commit, rollback or a dropped connection)."""
    taken = await fetch_value(conn, bool, "SELECT pg_try_advisory_xact_lock($1)", Params(key))
    return taken is True
