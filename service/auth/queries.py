"""Every query of the auth domain: users, their roles and permissions, and refresh tokens. The
bulk-load targets of users (``praxis seed``) are here too."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from service.infra.sql import (
    Connection,
    CopyTarget,
    Params,
    execute,
    fetch_all,
    fetch_one,
    fetch_row,
    fetch_value,
)

USER_COLUMNS = "id, email, password_hash, display_name, is_active, created_at"
REFRESH_TOKEN_COLUMNS = "id, family_id, user_id, expires_at, used_at, revoked_at"  # noqa: S105
USERS_COPY = CopyTarget(
    "users",
    ("id", "email", "password_hash", "display_name", "is_active", "created_at", "updated_at"),
)
USER_ROLES_COPY = CopyTarget("user_roles", ("user_id", "role_id"))


@dataclass(frozen=True)
class UserRow:
    id: uuid.UUID
    email: str
    password_hash: str
    display_name: str
    is_active: bool
    created_at: datetime


@dataclass(frozen=True)
class RefreshTokenRow:
    id: uuid.UUID
    family_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class PrincipalRow:
    """Who the caller is and what a request may do: its profile, whether the account is active,
    its roles and their permissions."""

    email: str
    display_name: str
    created_at: datetime
    is_active: bool
    roles: list[str]
    permissions: list[str]
    # Logins (refresh-token families) revoked within the access-token lifetime: access tokens
    # naming one may still be unexpired and are refused.
    ended_logins: list[uuid.UUID]


@dataclass(frozen=True)
class IdRow:
    id: uuid.UUID


@dataclass(frozen=True)
class NameRow:
    name: str


# --- users ----------------------------------------------------------------------------------


async def user_by_email(conn: Connection, email: str) -> UserRow | None:
    return await fetch_one(
        conn, UserRow, f"SELECT {USER_COLUMNS} FROM users WHERE email = $1", Params(email)
    )


async def user_by_id(conn: Connection, user_id: uuid.UUID) -> UserRow | None:
    return await fetch_one(
        conn, UserRow, f"SELECT {USER_COLUMNS} FROM users WHERE id = $1", Params(user_id)
    )


async def insert_user(
    conn: Connection, email: str, password_hash: str, display_name: str
) -> UserRow:
    """A new active user; IntegrityError when the email is taken."""
    return await fetch_row(
        conn,
        UserRow,
        f"""
        INSERT INTO users (id, email, password_hash, display_name, is_active, created_at,
                           updated_at)
        VALUES ($1, $2, $3, $4, TRUE, now(), now())
        RETURNING {USER_COLUMNS}
        """,
        Params(uuid.uuid4(), email, password_hash, display_name),
    )


async def grant_roles(conn: Connection, user_id: uuid.UUID, role_names: list[str]) -> None:
    """Give the user these roles; those it has already stay as they are."""
    await execute(
        conn,
        """
        INSERT INTO user_roles (user_id, role_id)
        SELECT $1, id FROM roles WHERE name = ANY($2::text[])
        ON CONFLICT DO NOTHING
        """,
        Params(user_id, role_names),
    )


async def record_listings(conn: Connection, emails: list[str]) -> None:
    """When each ADMIN_EMAILS address was first listed; a later listing changes nothing."""
    await execute(
        conn,
        "INSERT INTO admin_email_listings (email, first_listed_at) "
        "SELECT e, now() FROM unnest($1::text[]) AS e ON CONFLICT (email) DO NOTHING",
        Params(emails),
    )


async def listed_users_lacking_role(
    conn: Connection, emails: list[str], role_name: str
) -> list[UserRow]:
    """The users with one of ``emails`` who lack ``role_name`` and whose account existed when
    the address was first listed: an address registered after being listed gets nothing."""
    columns = ", ".join(f"u.{column.strip()}" for column in USER_COLUMNS.split(","))
    return await fetch_all(
        conn,
        UserRow,
        f"""
        SELECT {columns} FROM users u
        JOIN admin_email_listings l ON l.email = u.email AND u.created_at < l.first_listed_at
        WHERE u.email = ANY($1::text[])
          AND NOT EXISTS (
              SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
              WHERE ur.user_id = u.id AND r.name = $2
          )
        ORDER BY u.email
        """,
        Params(emails, role_name),
    )


async def user_by_email_for_update(conn: Connection, email: str) -> UserRow | None:
    return await fetch_one(
        conn,
        UserRow,
        f"SELECT {USER_COLUMNS} FROM users WHERE email = $1 FOR UPDATE",
        Params(email),
    )


async def role_names(conn: Connection, user_id: uuid.UUID) -> list[str]:
    rows = await fetch_all(
        conn,
        NameRow,
        "SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id "
        "WHERE ur.user_id = $1 ORDER BY r.name",
        Params(user_id),
    )
    return [row.name for row in rows]


async def activate(conn: Connection, user_id: uuid.UUID) -> None:
    await execute(
        conn, "UPDATE users SET is_active = TRUE, updated_at = now() WHERE id = $1", Params(user_id)
    )


async def set_password_hash(conn: Connection, user_id: uuid.UUID, password_hash: str) -> None:
    await execute(
        conn,
        "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
        Params(user_id, password_hash),
    )


async def user_ids(conn: Connection) -> list[uuid.UUID]:
    """Every user's id: what bulk-seeded sessions are spread over."""
    return [row.id for row in await fetch_all(conn, IdRow, "SELECT id FROM users")]


async def any_user_exists(conn: Connection) -> bool:
    return bool(await fetch_value(conn, bool, "SELECT EXISTS (SELECT 1 FROM users)"))


async def role_id(conn: Connection, name: str) -> int | None:
    return await fetch_value(conn, int, "SELECT id FROM roles WHERE name = $1", Params(name))


# The user's profile, every role and permission and its recently ended logins, in one statement:
# what a request reads when the cached copy is stale or Redis is away.
_PRINCIPAL_SQL = """
SELECT u.email, u.display_name, u.created_at, u.is_active,
       coalesce(array_agg(DISTINCT r.name) FILTER (WHERE r.name IS NOT NULL), '{}') AS roles,
       coalesce(array_agg(DISTINCT p.name) FILTER (WHERE p.name IS NOT NULL), '{}') AS permissions,
       ARRAY(
           SELECT DISTINCT t.family_id FROM refresh_tokens t
           WHERE t.user_id = u.id AND t.revoked_at > now() - $2 * interval '1 second'
       ) AS ended_logins
FROM users u
LEFT JOIN user_roles ur ON ur.user_id = u.id
LEFT JOIN roles r ON r.id = ur.role_id
LEFT JOIN role_permissions rp ON rp.role_id = r.id
LEFT JOIN permissions p ON p.id = rp.permission_id
WHERE u.id = $1
GROUP BY u.id
"""


async def principal(
    conn: Connection, user_id: uuid.UUID, access_ttl_seconds: int
) -> PrincipalRow | None:
    """None when the user no longer exists."""
    return await fetch_one(
        conn, PrincipalRow, _PRINCIPAL_SQL, Params(user_id, float(access_ttl_seconds))
    )


# --- refresh tokens -------------------------------------------------------------------------


async def insert_refresh_token(
    conn: Connection,
    user_id: uuid.UUID,
    token_hash: str,
    family_id: uuid.UUID,
    expires_at: datetime,
) -> None:
    await execute(
        conn,
        """
        INSERT INTO refresh_tokens (id, token_hash, family_id, user_id, expires_at, created_at)
        VALUES ($1, $2, $3, $4, $5, now())
        """,
        Params(uuid.uuid4(), token_hash, family_id, user_id, expires_at),
    )


async def refresh_token_for_update(conn: Connection, token_hash: str) -> RefreshTokenRow | None:
    """The token's row, locked until the transaction ends: one rotation wins a race."""
    return await fetch_one(
        conn,
        RefreshTokenRow,
        f"SELECT {REFRESH_TOKEN_COLUMNS} FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
        Params(token_hash),
    )


async def refresh_token_by_hash(conn: Connection, token_hash: str) -> RefreshTokenRow | None:
    return await fetch_one(
        conn,
        RefreshTokenRow,
        f"SELECT {REFRESH_TOKEN_COLUMNS} FROM refresh_tokens WHERE token_hash = $1",
        Params(token_hash),
    )


async def mark_used(conn: Connection, token_id: uuid.UUID, when: datetime) -> None:
    await execute(
        conn, "UPDATE refresh_tokens SET used_at = $2 WHERE id = $1", Params(token_id, when)
    )


async def revoke_family(conn: Connection, family_id: uuid.UUID, when: datetime) -> None:
    await execute(
        conn,
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
        Params(family_id, when),
    )


async def revoke_user_tokens(conn: Connection, user_id: uuid.UUID, when: datetime) -> None:
    """End every login of the user whose tokens have not expired (deactivation, create-admin)."""
    await execute(
        conn,
        "UPDATE refresh_tokens SET revoked_at = $2 "
        "WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2",
        Params(user_id, when),
    )


async def delete_finished_refresh_tokens(
    conn: Connection, now: datetime, spent_before: datetime
) -> int:
    """Delete the tokens nothing can use any more: expired ones, and spent or revoked ones whose
    spending is older than ``spent_before`` (kept until then so that replaying a spent token
    still revokes its family, and a revoked login stays refused); how many went."""
    return await execute(
        conn,
        """
        DELETE FROM refresh_tokens
        WHERE expires_at < $1 OR coalesce(revoked_at, used_at) < $2
        """,
        Params(now, spent_before),
    )
