"""Every query of user administration: the list, the row a write locks, the writes, and the
admin-count check that keeps at least one active admin."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.infra.sql import Connection, Params, all_of, execute, fetch_all, fetch_one, fetch_value
from service.kit.pagination import Keyset

# Every transaction that may take `admin` from an active user, or deactivate one, holds this
# lock first: two such changes cannot both see "another admin is left" and leave none.
ADMINS_LOCK = 7_305_001
# The columns a write may set from a request body; anything else is refused before any SQL.
WRITABLE_COLUMNS = frozenset({"is_active", "display_name"})

_ROLE_NAMES_SQL = (
    "ARRAY(SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id "
    "WHERE ur.user_id = u.id ORDER BY r.name)"
)
_USER_COLUMNS = (
    f"u.id, u.email, u.display_name, u.is_active, u.created_at, {_ROLE_NAMES_SQL} AS roles"
)


@dataclass(frozen=True)
class AdminUserRow:
    id: uuid.UUID
    email: str
    display_name: str
    is_active: bool
    created_at: datetime
    roles: list[str]


@dataclass(frozen=True)
class NameRow:
    name: str


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def page(
    conn: Connection, text: str | None, after: Keyset | None, limit: int
) -> list[AdminUserRow]:
    """Up to ``limit`` users, newest first (idx_users_created), with their roles."""
    params = Params()
    conditions = []
    if text is not None:
        pattern = params.bind(_like_pattern(text))
        conditions.append(f"(u.email ILIKE {pattern} OR u.display_name ILIKE {pattern})")
    if after is not None:
        moment, user_id = params.bind(after.moment), params.bind(after.id)
        conditions.append(f"(u.created_at, u.id) < ({moment}::timestamptz, {user_id}::uuid)")
    return await fetch_all(
        conn,
        AdminUserRow,
        f"""
        SELECT {_USER_COLUMNS} FROM users u WHERE {all_of(conditions)}
        ORDER BY u.created_at DESC, u.id DESC LIMIT {params.bind(limit)}
        """,
        params,
    )


async def user(conn: Connection, user_id: uuid.UUID, lock: bool = False) -> AdminUserRow | None:
    """One user; ``lock``: its row stays locked until the transaction ends."""
    locking = " FOR UPDATE OF u" if lock else ""
    return await fetch_one(
        conn,
        AdminUserRow,
        f"SELECT {_USER_COLUMNS} FROM users u WHERE u.id = $1{locking}",
        Params(user_id),
    )


async def lock_admins(conn: Connection) -> None:
    """Serialize the changes that could leave no active admin (released at commit)."""
    await execute(conn, "SELECT pg_advisory_xact_lock($1)", Params(ADMINS_LOCK))


async def other_active_admins(conn: Connection, user_id: uuid.UUID, admin_role: str) -> int:
    count = await fetch_value(
        conn,
        int,
        """
        SELECT count(*) FROM users u
        JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id
        WHERE r.name = $2 AND u.is_active AND u.id <> $1
        """,
        Params(user_id, admin_role),
    )
    return count or 0


async def update(conn: Connection, user_id: uuid.UUID, fields: dict[str, Any]) -> None:
    unknown = set(fields) - WRITABLE_COLUMNS
    if unknown:
        raise ValueError(f"not writable user columns: {sorted(unknown)}")
    params = Params(user_id)
    assignments = [f"{column} = {params.bind(value)}" for column, value in fields.items()]
    await execute(
        conn,
        f"UPDATE users SET {', '.join(assignments)}, updated_at = now() WHERE id = $1",
        params,
    )


async def unknown_roles(conn: Connection, names: list[str]) -> list[str]:
    rows = await fetch_all(
        conn,
        NameRow,
        "SELECT n AS name FROM unnest($1::text[]) AS n "
        "WHERE NOT EXISTS (SELECT 1 FROM roles r WHERE r.name = n) ORDER BY n",
        Params(names),
    )
    return [row.name for row in rows]


async def replace_roles(conn: Connection, user_id: uuid.UUID, names: list[str]) -> None:
    await execute(conn, "DELETE FROM user_roles WHERE user_id = $1", Params(user_id))
    await execute(
        conn,
        "INSERT INTO user_roles (user_id, role_id) "
        "SELECT $1, id FROM roles WHERE name = ANY($2::text[])",
        Params(user_id, names),
    )
