"""Every row of every table of the application's schema, read in one statement, so a test can
say exactly what a request changed: nothing, or these rows of these tables."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson
from tortoise import connections

from tests.support.servers import Server

SCHEMA = "public"


@dataclass(frozen=True)
class Snapshot:
    """Each table's rows, as their JSON text (a multiset: tables may hold equal rows)."""

    rows: dict[str, Counter[str]]

    def changes_since(self, before: Snapshot) -> dict[str, Change]:
        """The tables whose rows differ from ``before``, with the rows gone and the rows new."""
        changed = {}
        for table in sorted(set(self.rows) | set(before.rows)):
            now, then = self.rows.get(table, Counter()), before.rows.get(table, Counter())
            if now != then:
                changed[table] = Change(_parsed(then - now), _parsed(now - then))
        return changed


@dataclass(frozen=True)
class Change:
    removed: list[dict[str, Any]]
    added: list[dict[str, Any]]


def _parsed(rows: Counter[str]) -> list[dict[str, Any]]:
    return [orjson.loads(row) for row in rows.elements()]


async def _tables() -> list[str]:
    conn = connections.get("default")
    rows = await conn.execute_query_dict(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name",
        [SCHEMA],
    )
    return [row["table_name"] for row in rows]


async def _snapshot(tables: list[str]) -> Snapshot:
    conn = connections.get("default")
    # Table names come from the catalog, quoted as identifiers; nothing here is a request value.
    selects = [
        f"SELECT '{name}' AS t, to_jsonb(r)::text AS row FROM \"{name}\" r" for name in tables
    ]
    rows = await conn.execute_query_dict(" UNION ALL ".join(selects))
    found: dict[str, Counter[str]] = {name: Counter() for name in tables}
    for row in rows:
        found[row["t"]][row["row"]] += 1
    return Snapshot(found)


class Snapshots:
    """Snapshots of the served app's database (its tables are listed once)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.tables = server.run(_tables())
        assert self.tables, f"no table in schema {SCHEMA}"

    def take(self) -> Snapshot:
        return self.server.run(_snapshot(self.tables))
