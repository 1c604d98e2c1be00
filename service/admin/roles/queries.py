"""Every query of role administration."""

from __future__ import annotations

from dataclasses import dataclass

from service.infra.sql import Connection, Params, execute, fetch_all, fetch_one, fetch_row

_ROLE_SELECT = """
SELECT r.name, r.description, r.is_builtin AS builtin,
       ARRAY(SELECT p.name FROM role_permissions rp JOIN permissions p ON p.id = rp.permission_id
             WHERE rp.role_id = r.id ORDER BY p.name) AS permissions
FROM roles r
"""


@dataclass(frozen=True)
class RoleRow:
    name: str
    description: str
    builtin: bool
    permissions: list[str]


async def all_roles(conn: Connection) -> list[RoleRow]:
    return await fetch_all(conn, RoleRow, _ROLE_SELECT + "ORDER BY r.name")


async def role(conn: Connection, name: str, lock: bool = False) -> RoleRow | None:
    """One role; ``lock``: its row stays locked until the transaction ends."""
    locking = " FOR UPDATE OF r" if lock else ""
    return await fetch_one(
        conn, RoleRow, _ROLE_SELECT + f"WHERE r.name = $1{locking}", Params(name)
    )


async def written_role(conn: Connection, name: str) -> RoleRow:
    """A role this transaction has just written or locked, so it exists."""
    return await fetch_row(conn, RoleRow, _ROLE_SELECT + "WHERE r.name = $1", Params(name))


async def insert(conn: Connection, name: str, description: str) -> None:
    """A custom role; IntegrityError when the name is taken."""
    await execute(
        conn,
        "INSERT INTO roles (name, description, is_builtin, created_at) "
        "VALUES ($1, $2, FALSE, now())",
        Params(name, description),
    )


async def set_description(conn: Connection, name: str, description: str) -> None:
    await execute(
        conn, "UPDATE roles SET description = $2 WHERE name = $1", Params(name, description)
    )


async def replace_permissions(conn: Connection, name: str, permissions: list[str]) -> None:
    """The role's permissions become exactly ``permissions`` (names from the catalog)."""
    await execute(
        conn,
        "DELETE FROM role_permissions WHERE role_id = (SELECT id FROM roles WHERE name = $1)",
        Params(name),
    )
    await execute(
        conn,
        "INSERT INTO role_permissions (role_id, permission_id) "
        "SELECT r.id, p.id FROM roles r, permissions p "
        "WHERE r.name = $1 AND p.name = ANY($2::text[])",
        Params(name, permissions),
    )
